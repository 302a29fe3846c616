import { existsSync } from 'node:fs';
import type { AsrEngine, LlmEngine, TtsEngine } from '../../machines/engine-contracts.js';
import type { ModelBoard, ModelStatus } from '../downloads/model-board.js';
import type { ModelFiles } from './model-files.js';

/**
 * Engines whose model files the first start downloads (manifests/models/): until the files are there, the engine
 * does not pretend. The mind answers with where the downloads stand (the offline talker's words: what is missing,
 * how far along, what to run); the voice speaks through the offline voice while its own is downloading, and says what
 * is missing once the download has failed; the ears say where their download stands. Files that appear are used at
 * the next request, with no restart.
 */

/** The board entry of a missing file of the engine's (undefined when all are there, or no download covers it). */
function awaited(files: readonly string[], board: ModelBoard): ModelStatus | undefined {
  for (const file of files) {
    if (existsSync(file)) continue;
    const entry = board.covering(file);
    if (entry && entry.state !== 'installed') return entry;
  }
  return undefined;
}

export function llmAwaitingModels(engine: LlmEngine & ModelFiles, board: ModelBoard): LlmEngine {
  return {
    provider: engine.provider,
    toolStyle: engine.toolStyle,
    ...('local' in engine ? { local: engine.local } : {}),
    async stream(request, onText, signal, options) {
      if (!awaited(engine.modelFiles, board)) return engine.stream(request, onText, signal, options);
      onText(board.describePending() ?? '');
      return { toolCalls: [] };
    },
  };
}

export function ttsAwaitingModels(engine: TtsEngine & ModelFiles, board: ModelBoard, offlineVoice: TtsEngine | undefined): TtsEngine {
  return {
    provider: engine.provider,
    async synthesize(text, signal, options) {
      const entry = awaited(engine.modelFiles, board);
      if (!entry) return engine.synthesize(text, signal, options);
      const inProgress = entry.state === 'waiting' || entry.state === 'downloading';
      if (inProgress && offlineVoice) return offlineVoice.synthesize(text, signal, options);
      throw new Error(board.describePending() ?? `${entry.manifest.title} is missing`);
    },
  };
}

export function asrAwaitingModels(engine: AsrEngine & ModelFiles, board: ModelBoard): AsrEngine {
  return {
    provider: engine.provider,
    async transcribe(samples, signal, options) {
      if (!awaited(engine.modelFiles, board)) return engine.transcribe(samples, signal, options);
      throw new Error(board.describePending() ?? 'my ears are not downloaded yet');
    },
  };
}
