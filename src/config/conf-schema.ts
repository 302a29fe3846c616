import { z } from 'zod';
import { sherpaOnnxAsrSchema, sherpaOnnxTtsSchema } from './sherpa-onnx-schema.js';
import { sileroVadSchema } from './silero-vad-schema.js';

/**
 * The schema of a character config (`character_config` in `conf.yaml` and the alternates in `characters/`), as upstream
 * Open-LLM-VTuber defines it (docs/configuration.md), so that a user's existing file loads unchanged. Keys this
 * schema does not declare are not an error: the loader keeps them and reports them once as "not supported yet" (see
 * unsupported-keys.ts). The rest of the file, and the check of provider names against the provider tables, is
 * conf-file-schema.ts (the machines read these types, so this file stays a pure leaf: zod and schemas only).
 *
 * Provider blocks of engines we do not implement are accepted as free-form objects: upstream validates a provider
 * block only when it is present, and its template carries a block for every provider.
 */

const providerBlock = z.record(z.string(), z.unknown());

export const basicMemoryAgentSchema = z.object({
  llm_provider: z.string().min(1),
  faster_first_response: z.boolean().default(true),
  segment_method: z.enum(['regex', 'pysbd']).default('pysbd'),
  use_mcpp: z.boolean().default(false),
  mcp_enabled_servers: z.array(z.string()).default([]),
});

export const agentConfigSchema = z.object({
  conversation_agent_choice: z.string().min(1),
  agent_settings: z.object({
    basic_memory_agent: basicMemoryAgentSchema.optional(),
    letta_agent: providerBlock.optional(),
    hume_ai_agent: providerBlock.optional(),
    mem0_agent: providerBlock.optional(),
  }),
  llm_configs: z.record(z.string(), providerBlock).default({}),
});

export const asrConfigSchema = z.object({ asr_model: z.string().min(1), sherpa_onnx_asr: sherpaOnnxAsrSchema.optional() }).catchall(z.unknown());

export const ttsConfigSchema = z.object({ tts_model: z.string().min(1), sherpa_onnx_tts: sherpaOnnxTtsSchema.optional() }).catchall(z.unknown());

export const vadConfigSchema = z
  .object({
    vad_model: z.enum(['silero_vad']).nullable().default(null),
    silero_vad: sileroVadSchema.prefault({}),
  })
  .prefault({});

export const ttsPreprocessorConfigSchema = z
  .object({
    remove_special_char: z.boolean().default(true),
    ignore_brackets: z.boolean().default(true),
    ignore_parentheses: z.boolean().default(true),
    ignore_asterisks: z.boolean().default(true),
    ignore_angle_brackets: z.boolean().default(true),
    translator_config: z
      .object({
        translate_audio: z.boolean().default(false),
        translate_provider: z.string().min(1).optional(),
        deeplx: providerBlock.optional(),
        tencent: providerBlock.optional(),
      })
      .default({ translate_audio: false }),
  })
  .default({
    remove_special_char: true,
    ignore_brackets: true,
    ignore_parentheses: true,
    ignore_asterisks: true,
    ignore_angle_brackets: true,
    translator_config: { translate_audio: false },
  });

export const characterConfigSchema = z
  .object({
    conf_name: z.string().min(1),
    conf_uid: z.string().min(1),
    live2d_model_name: z.string().min(1),
    /** Upstream meant this to fall back to conf_name (its validator never did: docs/upstream-defects.md, U27); here it does. */
    character_name: z.string().optional(),
    human_name: z.string().default('Human'),
    avatar: z.string().default(''),
    persona_prompt: z.string().min(1),
    agent_config: agentConfigSchema,
    asr_config: asrConfigSchema,
    tts_config: ttsConfigSchema,
    vad_config: vadConfigSchema,
    tts_preprocessor_config: ttsPreprocessorConfigSchema,
  })
  // The one home of the speaker's name: everything downstream reads `character_name`.
  .transform((c) => ({ ...c, character_name: c.character_name ? c.character_name : c.conf_name }));

export type CharacterConfig = z.infer<typeof characterConfigSchema>;
