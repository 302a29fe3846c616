import { z } from 'zod';
import { findProgram } from '../find-program.js';
import { openAiCompatibleAsr } from './openai-compatible-asr.js';
import { pocketsphinxAsr } from './pocketsphinx-asr.js';
import { sherpaOnnxAsrSchema } from '../../config/sherpa-onnx-schema.js';
import { sherpaOnnxAsr } from './sherpa-onnx-asr.js';
import { mapUpstreamLocalAsr } from './upstream-local-asr.js';
import type { AsrEngine } from '../../../machines/engine-contracts.js';

export interface AsrChoice {
  engine?: AsrEngine;
  /** Why voice input cannot be understood, when it cannot (logged once, and sent as the error of a voice turn). */
  warning?: string;
  /** What serves an upstream engine name here (logged once). */
  note?: string;
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

/** `root` is the folder relative model paths start from (upstream: the working directory). */
export function createAsrEngine(model: string, block: unknown, root = process.cwd()): AsrChoice {
  if (model === 'sherpa_onnx_asr') return { engine: sherpaOnnxAsr(sherpaOnnxAsrSchema.parse(block ?? {}), root) };
  const mapped = mapUpstreamLocalAsr(model, block);
  if (mapped) return { engine: sherpaOnnxAsr(mapped.config, root, model), note: mapped.note };
  if (model === 'pocketsphinx_asr') {
    const c = pocketsphinxSchema.parse(block ?? {});
    const program = findProgram(c.program ?? 'pocketsphinx_continuous') ?? (c.program?.includes('/') ? c.program : undefined);
    if (!program) {
      return { warning: 'pocketsphinx_asr: pocketsphinx_continuous is not on PATH (apt-get install pocketsphinx pocketsphinx-en-us); voice input cannot be understood, type instead' };
    }
    return { engine: pocketsphinxAsr({ program, hmm: c.hmm, lm: c.lm, dict: c.dict }) };
  }
  if (model === 'openai_compatible_asr') {
    const c = openAiAsrSchema.parse(block ?? {});
    return { engine: openAiCompatibleAsr({ provider: model, baseUrl: c.base_url, apiKey: c.api_key, model: c.model, language: c.language || undefined }) };
  }
  if (model === 'groq_whisper_asr') {
    const c = groqSchema.parse(block ?? {});
    return { engine: openAiCompatibleAsr({ provider: model, baseUrl: c.base_url, apiKey: c.api_key, model: c.model, language: c.lang || undefined }) };
  }
  return {
    warning: `character_config.asr_config.asr_model "${model}" is not built in this server; voice input cannot be understood, type instead (choose one of sherpa_onnx_asr, faster_whisper, whisper_cpp, whisper, fun_asr, openai_compatible_asr, groq_whisper_asr, pocketsphinx_asr)`,
  };
}
