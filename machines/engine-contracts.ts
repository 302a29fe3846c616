import type { PcmAudio } from '../src/audio/pcm-audio.js';
import type { LlmRequest, ToolCallRequest } from '../src/engines/llm/llm-request.js';
import type { LoadedModel, LocalModelSpec } from './local-model-contract.js';

/**
 * The engines a turn drives, as the machines see them: the session's character carries one of each, the turn hands
 * them to its slots (`llmStream`, `synthesize`, `transcribe`), and src/engines implements them, one file per
 * provider. Stateless (they hold settings, not conversations), so sessions may share one; every call takes the
 * slot actor's abort signal, and aborting ends the request (closes the HTTP connection, kills the process).
 */

/** What an engine call may be given besides its signal. */
export interface EngineCallOptions {
  /** Told about each retry of the request (the slot logs it with the session's client_uid). */
  onRetry?: (message: string) => void;
  /** The server's models (local-model-contract.ts), for engines that run one in this server (llama_cpp_llm). */
  localModels?: LocalModelAccess;
}

/** A sequence of a loaded model, lent to one reply: `release()` gives it back (also done when the slot stops). */
export interface ModelLease {
  model: LoadedModel;
  slot: number;
  release(): void;
}

/** How an engine borrows a sequence of a model this server runs; rejects when the model cannot load or is busy. */
export interface LocalModelAccess {
  lease(spec: LocalModelSpec, signal: AbortSignal): Promise<ModelLease>;
}

/** How a model call ended: with the calls it asked for (empty when it simply answered). */
export interface LlmStreamEnd {
  toolCalls: ToolCallRequest[];
}

/** A configured LLM endpoint. */
export interface LlmEngine {
  readonly provider: string;
  /**
   * Native tool calling in OpenAI's or Anthropic's format; `prompt`: tools only as JSON the model writes in its text
   * (the turn's prompt mode, from the first call on); `none`: the engine cannot use tools at all.
   */
  readonly toolStyle: 'openai' | 'claude' | 'prompt' | 'none';
  /** `options.onRetry` hears of each retry of the request (before any output; see src/engines/http-retry.ts). */
  stream(request: LlmRequest, onText: (text: string) => void, signal: AbortSignal, options?: EngineCallOptions): Promise<LlmStreamEnd | void>;
}

/** A configured speech engine. `null` means "nothing to play" (a silent payload). */
export interface TtsEngine {
  readonly provider: string;
  synthesize(text: string, signal: AbortSignal, options?: EngineCallOptions): Promise<PcmAudio | null>;
}

/** The rate of every audio the server hears: the client's mic frames, and what each recogniser is given. */
export const ASR_SAMPLE_RATE = 16000;

/** A configured speech recogniser: 16 kHz mono samples in [-1, 1] → text. */
export interface AsrEngine {
  readonly provider: string;
  transcribe(samples: Float32Array, signal: AbortSignal, options?: EngineCallOptions): Promise<string>;
}

/** The `llmStream` slot (turn.machine.ts): streams `llm.delta` events, then `llm.done` or `llm.error`. */
export interface LlmStreamInput {
  engine: LlmEngine;
  request: LlmRequest;
  clientUid: string;
}

/** The `synthesize` slot (tts-pipeline.machine.ts): one sentence → its audio (SynthResult). */
export interface SynthesizeInput {
  text: string;
  engine: TtsEngine;
}

/** The `transcribe` slot (turn and group conversation): mic samples → text; no engine fails with `unavailable`. */
export interface TranscribeInput {
  engine?: AsrEngine;
  /** Why there is no engine (said in the error). */
  unavailable?: string;
  samples: Float32Array;
  clientUid: string;
}
