import { z } from 'zod';
import { sherpaOnnxAsrSchema } from '../../config/sherpa-onnx-schema.js';
import { findProgram } from '../find-program.js';
import { provider, type ProviderRegistry } from '../provider-registry.js';
import { openAiCompatibleAsr } from './openai-compatible-asr.js';
import { pocketsphinxAsr } from './pocketsphinx-asr.js';
import { sherpaOnnxAsr } from './sherpa-onnx-asr.js';
import { UPSTREAM_LOCAL_ASR, type MappedAsr } from './upstream-local-asr.js';
import type { AsrEngine } from '../../../machines/engine-contracts.js';

export interface AsrChoice {
  engine?: AsrEngine;
  /** Why voice input cannot be understood, when it cannot (logged once, and sent as the error of a voice turn). */
  warning?: string;
  /** What serves an upstream engine name here (logged once). */
  note?: string;
}

export interface AsrContext {
  /** Where relative model paths start (upstream: the working directory). */
  root: string;
}

const openAiAsrSchema = z.looseObject({
  base_url: z.string().min(1).default('https://api.openai.com/v1'),
  api_key: z.string().default(''),
  model: z.string().min(1).default('whisper-1'),
  language: z.string().optional(),
});

const groqSchema = z.looseObject({
  api_key: z.string().default(''),
  model: z.string().min(1).default('whisper-large-v3-turbo'),
  lang: z.string().nullable().optional(),
  base_url: z.string().min(1).default('https://api.groq.com/openai/v1'),
});

const pocketsphinxSchema = z.looseObject({
  program: z.string().optional(),
  hmm: z.string().optional(),
  lm: z.string().optional(),
  dict: z.string().optional(),
});

function pocketsphinx(c: z.output<typeof pocketsphinxSchema>): AsrChoice {
  const program = findProgram(c.program ?? 'pocketsphinx_continuous') ?? (c.program?.includes('/') ? c.program : undefined);
  if (!program) {
    return { warning: 'pocketsphinx_asr: pocketsphinx_continuous is not on PATH (apt-get install pocketsphinx pocketsphinx-en-us); voice input cannot be understood, type instead' };
  }
  return { engine: pocketsphinxAsr({ program, hmm: c.hmm, lm: c.lm, dict: c.dict }) };
}

/** An upstream recogniser this server does not run, served by the same model as a sherpa-onnx export. */
function servedBySherpa<S extends z.ZodType>(name: keyof typeof UPSTREAM_LOCAL_ASR, upstream: { schema: S; map: (c: z.output<S>) => MappedAsr }) {
  return provider(upstream.schema, (c, { root }: AsrContext): AsrChoice => {
    const mapped = upstream.map(c);
    return { engine: sherpaOnnxAsr(mapped.config, root, name), note: mapped.note };
  });
}

/** `character_config.asr_config.asr_model`: what understands the user's voice. */
export const ASR_PROVIDERS: ProviderRegistry<AsrContext, AsrChoice> = {
  kind: 'ASR',
  key: 'character_config.asr_config.asr_model',
  blocks: 'character_config.asr_config',
  without: 'voice input cannot be understood (type instead)',
  built: {
    sherpa_onnx_asr: provider(sherpaOnnxAsrSchema, (c, { root }) => ({ engine: sherpaOnnxAsr(c, root) })),
    faster_whisper: servedBySherpa('faster_whisper', UPSTREAM_LOCAL_ASR.faster_whisper),
    whisper_cpp: servedBySherpa('whisper_cpp', UPSTREAM_LOCAL_ASR.whisper_cpp),
    whisper: servedBySherpa('whisper', UPSTREAM_LOCAL_ASR.whisper),
    fun_asr: servedBySherpa('fun_asr', UPSTREAM_LOCAL_ASR.fun_asr),
    openai_compatible_asr: provider(openAiAsrSchema, (c) => ({
      engine: openAiCompatibleAsr({ provider: 'openai_compatible_asr', baseUrl: c.base_url, apiKey: c.api_key, model: c.model, language: c.language || undefined }),
    })),
    groq_whisper_asr: provider(groqSchema, (c) => ({
      engine: openAiCompatibleAsr({ provider: 'groq_whisper_asr', baseUrl: c.base_url, apiKey: c.api_key, model: c.model, language: c.lang || undefined }),
    })),
    // This server's own.
    pocketsphinx_asr: provider(pocketsphinxSchema, pocketsphinx),
  },
  notBuilt: ['azure_asr'],
};
