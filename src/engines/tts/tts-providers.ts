import { z } from 'zod';
import { sherpaOnnxTtsSchema } from '../../config/sherpa-onnx-schema.js';
import { findProgram } from '../find-program.js';
import { provider, type ProviderRegistry } from '../provider-registry.js';
import { azureSchema, azureTtsEngine } from './azure-tts.js';
import { cartesiaSchema, cartesiaTtsEngine } from './cartesia-tts.js';
import { cosyvoice2Schema, cosyvoice2TtsEngine } from './cosyvoice2-tts.js';
import { edgeTtsEngine } from './edge-tts.js';
import { elevenlabsSchema, elevenlabsTtsEngine } from './elevenlabs-tts.js';
import { espeakTtsEngine } from './espeak-tts.js';
import { fishApiSchema, fishApiTtsEngine } from './fish-api-tts.js';
import { gptSovitsSchema, gptSovitsTtsEngine } from './gpt-sovits-tts.js';
import type { HttpEngineOptions } from './http-synthesis.js';
import { minimaxSchema, minimaxTtsEngine } from './minimax-tts.js';
import { openAiTtsEngine } from './openai-tts.js';
import { piperToSherpa, piperTtsSchema } from './piper-tts.js';
import { sherpaOnnxTts } from './sherpa-onnx-tts.js';
import { siliconflowSchema, siliconflowTtsEngine } from './siliconflow-tts.js';
import { silentEngine, unavailableEngine } from './tts-engine.js';
import { xTtsEngine, xTtsSchema } from './x-tts.js';
import type { TtsEngine } from '../../../machines/engine-contracts.js';

export interface TtsChoice {
  engine: TtsEngine;
  /** Why the character will not be heard, when it will not (logged once). */
  warning?: string;
  /** What serves an upstream engine name here (logged once). */
  note?: string;
}

export interface TtsContext {
  http: HttpEngineOptions;
  /** Where relative model paths start (the folder the server runs in). */
  root: string;
}

const openAiTtsSchema = z.looseObject({
  base_url: z.string().min(1).default('https://api.openai.com/v1'),
  api_key: z.string().default(''),
  model: z.string().min(1).default('tts-1'),
  voice: z.string().min(1).default('alloy'),
  speed: z.number().positive().optional(),
  file_extension: z.enum(['mp3', 'wav']).default('mp3'),
});

const edgeSchema = z.looseObject({
  voice: z.string().min(1).default('en-US-AvaMultilingualNeural'),
  rate: z.string().optional(),
  pitch: z.string().optional(),
  volume: z.string().optional(),
  endpoint: z.string().optional(),
});

const espeakSchema = z.looseObject({
  voice: z.string().optional(),
  speed: z.number().positive().optional(),
  program: z.string().optional(),
});

function espeak(c: z.output<typeof espeakSchema>): TtsChoice {
  const program = c.program ? findProgram(c.program) ?? (c.program.includes('/') ? c.program : undefined) : findProgram('espeak-ng') ?? findProgram('flite');
  if (!program) {
    const warning = 'espeak_tts: neither espeak-ng nor flite is on PATH (apt-get install espeak-ng), so replies are shown without speech';
    return { engine: unavailableEngine('espeak_tts', warning), warning };
  }
  return { engine: espeakTtsEngine({ program, voice: c.voice, speed: c.speed }) };
}

/** Upstream's HTTP speech engines: each a schema of upstream's keys and an engine built from it. */
const http = <S extends z.ZodType>(schema: S, engine: (c: z.output<S>, options: HttpEngineOptions) => TtsEngine, extra?: { blockAlias?: string }) =>
  provider(schema, (c: z.output<S>, { http: options }: TtsContext): TtsChoice => ({ engine: engine(c, options) }), extra);

/** `character_config.tts_config.tts_model`: what speaks a character's replies. */
export const TTS_PROVIDERS: ProviderRegistry<TtsContext, TtsChoice> = {
  kind: 'TTS',
  key: 'character_config.tts_config.tts_model',
  blocks: 'character_config.tts_config',
  without: 'replies are shown without speech',
  built: {
    edge_tts: provider(edgeSchema, (c) => ({ engine: edgeTtsEngine({ voice: c.voice, rate: c.rate, pitch: c.pitch, volume: c.volume, endpoint: c.endpoint }) })),
    openai_tts: provider(openAiTtsSchema, (c, { http: options }) => ({
      engine: openAiTtsEngine({ baseUrl: c.base_url, apiKey: c.api_key, model: c.model, voice: c.voice, speed: c.speed, fileExtension: c.file_extension }, options),
    })),
    sherpa_onnx_tts: provider(sherpaOnnxTtsSchema, (c, { root }) => ({ engine: sherpaOnnxTts(c, root) })),
    // Piper's voices, as sherpa-onnx publishes them converted.
    piper_tts: provider(piperTtsSchema, (c, { root }) => {
      const piper = piperToSherpa(c);
      return { engine: sherpaOnnxTts(piper.config, root, 'piper_tts'), note: piper.note };
    }),
    gpt_sovits_tts: http(gptSovitsSchema, gptSovitsTtsEngine, { blockAlias: 'gpt_sovits' }),
    fish_api_tts: http(fishApiSchema, fishApiTtsEngine),
    siliconflow_tts: http(siliconflowSchema, siliconflowTtsEngine),
    cosyvoice2_tts: http(cosyvoice2Schema, cosyvoice2TtsEngine),
    minimax_tts: http(minimaxSchema, minimaxTtsEngine),
    elevenlabs_tts: http(elevenlabsSchema, elevenlabsTtsEngine),
    cartesia_tts: http(cartesiaSchema, cartesiaTtsEngine),
    azure_tts: http(azureSchema, azureTtsEngine),
    x_tts: http(xTtsSchema, xTtsEngine),
    // This server's own.
    espeak_tts: provider(espeakSchema, espeak),
    silent_tts: provider(z.looseObject({}), () => ({ engine: silentEngine() })),
  },
  notBuilt: ['bark_tts', 'cosyvoice_tts', 'melo_tts', 'coqui_tts', 'spark_tts'],
};
