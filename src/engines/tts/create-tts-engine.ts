import { z } from 'zod';
import { findProgram } from '../find-program.js';
import { edgeTtsEngine } from './edge-tts.js';
import { espeakTtsEngine } from './espeak-tts.js';
import type { HttpEngineOptions } from './http-synthesis.js';
import { HTTP_TTS_ENGINES } from './http-tts-engines.js';
import { openAiTtsEngine } from './openai-tts.js';
import { sherpaOnnxTtsSchema } from '../../config/sherpa-onnx-schema.js';
import { sherpaOnnxTts } from './sherpa-onnx-tts.js';
import { mapPiperTts } from './piper-tts.js';
import { silentEngine, unavailableEngine } from './tts-engine.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export interface TtsChoice {
  engine: TtsEngine;
  /** Why the character will not be heard, when it will not (logged once). */
  warning?: string;
  /** What serves an upstream engine name here (logged once). */
  note?: string;
}

const openAiTtsSchema = z.looseObject({
  base_url: z.string().min(1).default('https://api.openai.com/v1'),
  api_key: z.string().default(''),
  model: z.string().min(1).default('tts-1'),
  voice: z.string().min(1).default('alloy'),
  speed: z.number().positive().optional(),
  file_extension: z.enum(['mp3', 'wav']).default('mp3'),
});

const espeakSchema = z.looseObject({
  voice: z.string().optional(),
  speed: z.number().positive().optional(),
  program: z.string().optional(),
});

const edgeSchema = z.looseObject({
  voice: z.string().min(1).default('en-US-AvaMultilingualNeural'),
  rate: z.string().optional(),
  pitch: z.string().optional(),
  volume: z.string().optional(),
  endpoint: z.string().optional(),
});

/** Builds the engine named by `tts_model` from its block; never fails a character: no engine means silent payloads. */
export function createTtsEngine(model: string, block: unknown, options: HttpEngineOptions = {}, root = process.cwd()): TtsChoice {
  if (model === 'sherpa_onnx_tts') return { engine: sherpaOnnxTts(sherpaOnnxTtsSchema.parse(block ?? {}), root) };
  if (model === 'piper_tts') {
    const piper = mapPiperTts(block);
    return { engine: sherpaOnnxTts(piper.config, root, 'piper_tts'), note: piper.note };
  }
  const httpEngine = HTTP_TTS_ENGINES[model];
  if (httpEngine) return { engine: httpEngine(block, options) };
  if (model === 'edge_tts') {
    const c = edgeSchema.parse(block ?? {});
    return { engine: edgeTtsEngine({ voice: c.voice, rate: c.rate, pitch: c.pitch, volume: c.volume, endpoint: c.endpoint }) };
  }
  if (model === 'openai_tts') {
    const c = openAiTtsSchema.parse(block ?? {});
    return {
      engine: openAiTtsEngine({ baseUrl: c.base_url, apiKey: c.api_key, model: c.model, voice: c.voice, speed: c.speed, fileExtension: c.file_extension }, options),
    };
  }
  if (model === 'espeak_tts') {
    const c = espeakSchema.parse(block ?? {});
    const program = c.program ? findProgram(c.program) ?? (c.program.includes('/') ? c.program : undefined) : findProgram('espeak-ng') ?? findProgram('flite');
    if (!program) {
      const warning = 'espeak_tts: neither espeak-ng nor flite is on PATH (apt-get install espeak-ng), so replies are shown without speech';
      return { engine: unavailableEngine('espeak_tts', warning), warning };
    }
    return { engine: espeakTtsEngine({ program, voice: c.voice, speed: c.speed }) };
  }
  if (model === 'silent_tts') return { engine: silentEngine() };
  const warning = `character_config.tts_config.tts_model "${model}" is not built in this server, so replies are shown without speech; choose one of edge_tts, openai_tts, sherpa_onnx_tts, piper_tts, ${Object.keys(HTTP_TTS_ENGINES).join(', ')}, espeak_tts, silent_tts`;
  return { engine: unavailableEngine(model, warning), warning };
}
