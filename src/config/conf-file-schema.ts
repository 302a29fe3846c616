import { z } from 'zod';
import { DEFAULT_ENGINE_DEADLINES } from '../../machines/engine-deadlines.js';
import { ASR_PROVIDERS } from '../engines/asr/asr-providers.js';
import { AGENT_PROVIDERS } from '../engines/llm/agent-providers.js';
import { knownNames, type AnyProviderRegistry } from '../engines/provider-registry.js';
import { TRANSLATOR_PROVIDERS } from '../engines/translate/translator-providers.js';
import { TTS_PROVIDERS } from '../engines/tts/tts-providers.js';
import { characterConfigSchema } from './conf-schema.js';

/**
 * The schema of `conf.yaml` as a whole: `system_config` (here), `character_config` (conf-schema.ts, whose types the
 * machines read) with its provider choices checked against the provider tables, and upstream's `live_config`.
 */

const seconds = (ms: number) => ms / 1000;

export const DEFAULT_TOOL_PROMPTS = {
  live2d_expression_prompt: 'live2d_expression_prompt',
  group_conversation_prompt: 'group_conversation_prompt',
  mcp_prompt: 'mcp_prompt',
  proactive_speak_prompt: 'proactive_speak_prompt',
} as const;

export const systemConfigSchema = z.object({
  conf_version: z.string().optional(),
  host: z.string().min(1).default('localhost'),
  port: z.number().int().min(0).max(65535).default(12393),
  config_alts_dir: z.string().min(1).default('characters'),
  tool_prompts: z.record(z.string(), z.string()).default({ ...DEFAULT_TOOL_PROMPTS }),
  enable_proxy: z.boolean().default(false),
  // --- keys of this server (not upstream) ---
  /** Origins allowed to open /client-ws besides the page's own, loopback and the Electron app (README, "Which pages may connect"). */
  allowed_origins: z.array(z.string()).default([]),
  /** Host names this server may be addressed by besides loopback, IP addresses and this machine's name (DNS rebinding). */
  allowed_hosts: z.array(z.string()).default([]),
  /** Largest inbound WebSocket frame; larger closes that socket with 1009 (upstream: Uvicorn's 16 MiB). */
  ws_max_payload_bytes: z.number().int().min(1024).default(16 * 1024 * 1024),
  /** Protocol-level ping interval; a peer that misses a pong for one interval is dropped (Uvicorn: 20 s). 0 = off. */
  ws_ping_interval_seconds: z.number().min(0).default(20),
  /**
   * Bytes queued for one client that stops reading: beyond it, no audio for the rest of the turn (text still goes);
   * beyond four times it, the connection is closed with 1013. Other clients are never slowed.
   */
  ws_max_buffered_bytes: z.number().int().min(64 * 1024).default(4 * 1024 * 1024),
  /** Sentences synthesised at once per reply (delivery stays in sentence order). */
  tts_concurrency: z.number().int().min(1).max(16).default(3),
  /** The wait for the client's "playback finished" is bounded by the audio sent plus this slack (upstream: no bound; docs/upstream-defects.md, U7). */
  playback_slack_seconds: z.number().min(0).default(3),
  /** Serve /sessions to other machines too (it shows every session's state; off: this machine only). */
  sessions_page_public: z.boolean().default(false),
  /** Send inspection events to the Stately inspector (also INSPECT=1); see docs/features.md, "Inspecting sessions". */
  inspect: z.boolean().default(false),
  /** Port of the local inspection relay. */
  inspect_port: z.number().int().min(1).max(65535).default(8080),
  /** Longest utterance buffered from mic-audio-data (16 kHz); beyond it the buffer is dropped with an error (docs/upstream-defects.md, U5). */
  mic_max_seconds: z.number().positive().default(60),
  /** /proxy-ws: the longest one queued input holds the queue when the session does not end its reply. */
  proxy_turn_timeout_seconds: z.number().positive().default(120),
  /** /proxy-ws: the longest the session may take to answer one viewer request (history, configs…). */
  proxy_request_timeout_seconds: z.number().positive().default(15),
  /** Who may invite to a chat group: `any` member (upstream's way) or the `owner` only. */
  group_invite: z.enum(['any', 'owner']).default('any'),
  /** Largest chat group (upstream had no limit). */
  group_max_members: z.number().int().min(2).default(8),
  /**
   * Rounds of a group conversation: each member's character speaks once per round. 0 is upstream's way: the
   * characters talk until someone interrupts (and new input winds the conversation up after the current speaker).
   * The default is one round, so that an unattended group does not keep a model busy for ever.
   */
  group_conversation_rounds: z.number().int().min(0).default(1),
  /** How long a group conversation waits for a member's session to take its turn before it skips that member. */
  group_member_answer_timeout_seconds: z.number().positive().default(5),
  /** Engine deadlines (upstream waited for ever): the model's first output, its silence between chunks … */
  llm_first_output_timeout_seconds: z.number().positive().default(seconds(DEFAULT_ENGINE_DEADLINES.llmFirstOutputMs)),
  llm_idle_timeout_seconds: z.number().positive().default(seconds(DEFAULT_ENGINE_DEADLINES.llmIdleMs)),
  /** … one sentence synthesised (or translated before speech), one utterance transcribed. */
  tts_timeout_seconds: z.number().positive().default(seconds(DEFAULT_ENGINE_DEADLINES.synthesisMs)),
  asr_timeout_seconds: z.number().positive().default(seconds(DEFAULT_ENGINE_DEADLINES.transcriptionMs)),
  /** Rounds of tool calls the model may make in one reply (upstream had no cap: docs/upstream-defects.md, U19). */
  mcp_max_tool_steps: z.number().int().min(1).default(8),
  /** Bound on one MCP tool call, unless mcp_servers.json sets the server's `timeout`. */
  mcp_call_timeout_seconds: z.number().positive().default(30),
  /** Requests (history, configs, heartbeat…) one client may have waiting for their answers; more get an error. */
  max_pending_requests: z.number().int().min(1).default(32),
  /** A turn's conversation-chain-end waits for its reply to be on disk (fsync) at most this long. */
  history_write_timeout_seconds: z.number().positive().default(5),
  /** Bound on unloading Ollama models (`unload_at_exit`) when the server stops. */
  ollama_unload_timeout_seconds: z.number().positive().default(1),
  /** Bound on starting an MCP server (process, handshake, tool list): a first npx/uvx start may download packages. */
  mcp_start_timeout_seconds: z.number().positive().default(120),
  /** A shared MCP server with no call for this long is stopped (the next call starts it again). */
  mcp_idle_stop_seconds: z.number().positive().default(600),
  /** At startup, fetch the web client into frontend/ and the sample model into live2d-models/shizuku/ when missing. */
  first_start_downloads: z.boolean().default(true),
  /** Where GitHub's commit archives are fetched from (`<base>/<owner>/<repo>/archive/<commit>.tar.gz`); env VAS_DOWNLOAD_BASE_URL wins. */
  download_base_url: z.url({ protocol: /^https?$/ }).default('https://github.com'),
  /** Bound on one first-start download (fetch, check and install). */
  download_timeout_seconds: z.number().positive().default(600),
  /** Show `[emotion]` tags in the client's chat and subtitles (they always travel as `actions.expressions`). */
  show_emotion_tags: z.boolean().default(false),
  /** Live-stream chat: messages kept waiting for the character at most (beyond it the oldest is dropped). */
  live_chat_queue_max: z.number().int().min(1).default(10),
  /** Live-stream chat: the least time between two messages handed to the /proxy-ws session. */
  live_chat_min_interval_seconds: z.number().min(0).default(5),
  /**
   * Long-term memory (docs/features.md, "Long-term memory"): each character's past conversations are indexed beside
   * them (`chat_history/<conf_uid>/.memory.sqlite`) and the most relevant lines of its other conversations join the
   * prompt of every turn. Off by default: on, it adds a file to every character's history folder and text to prompts.
   */
  memory: z
    .object({
      enabled: z.boolean().default(false),
      /** Memories recalled per turn at most. */
      top_k: z.number().int().min(1).max(50).default(5),
      /** The recalled lines' budget in the prompt, in characters. */
      max_characters: z.number().int().min(100).default(1200),
      /** Bound on the recall before the model is asked: past it, the turn goes on without memories. */
      recall_timeout_ms: z.number().int().positive().default(200),
      /** Indexing jobs waiting at most, and the bound on one job. */
      max_queued_jobs: z.number().int().min(1).default(256),
      /** After each reply is on disk, the conf.yaml character's model distils durable facts about the user from it. */
      extract: z.boolean().default(false),
      /**
       * Embeddings, so that recall finds what is meant too (fused by rank with the words): an OpenAI-compatible
       * `/embeddings` service (`base_url` and `model`), or a GGUF embedding model run here by llama.cpp (`model_path`).
       */
      embeddings: z
        .object({
          base_url: z.url({ protocol: /^https?$/ }).optional(),
          model: z.string().min(1).optional(),
          api_key: z.string().default(''),
          model_path: z.string().min(1).optional(),
          /** Tokens of a text embedded at most (a longer one is cut), for model_path. */
          context_size: z.number().int().min(32).default(512),
          threads: z.union([z.literal('auto'), z.number().int().min(1)]).default('auto'),
          gpu_layers: z.union([z.literal('auto'), z.number().int().min(0)]).default('auto'),
          /** Bound on one request; a recall waits at most 3/4 of recall_timeout_ms for its query's embedding. */
          timeout_ms: z.number().int().positive().default(10_000),
        })
        .superRefine((e, ctx) => {
          if (!e.base_url === !e.model_path) {
            ctx.addIssue({ code: 'custom', path: [], message: 'expected either base_url (with model) for an embeddings service, or model_path for a GGUF embedding model run here' });
          } else if (e.base_url && !e.model) {
            ctx.addIssue({ code: 'custom', path: ['model'], message: "expected the service's model name (e.g. nomic-embed-text) with base_url" });
          }
        })
        .nullable()
        .default(null),
      job_timeout_seconds: z.number().positive().default(60),
    })
    .prefault({}),
  /**
   * More than one instance behind a balancer (docs/cluster.md): Redis is the shared layer. Without it, one process
   * as always, and no Redis code is loaded.
   */
  cluster: z
    .object({
      redis_url: z.url({ protocol: /^rediss?$/ }),
      /** This instance's name in the census and in `x-vas-instance`; default `<hostname>-<pid>`. */
      instance_id: z.string().min(1).max(100).regex(/^[\w.:-]+$/, 'letters, digits, _ . : - only').optional(),
      /** How often this instance writes its census, and how long an entry lives unless written again. */
      census_every_seconds: z.number().positive().default(5),
      census_ttl_seconds: z.number().int().positive().default(15),
      /**
       * With enable_proxy: how long the lease of the instance that runs the shared `/proxy-ws` session lives in Redis
       * unless renewed. Its owner renews it every quarter of this and steps down by itself after half of it without a
       * renewal; when an owner dies, another takes over about this long later.
       */
      proxy_lease_seconds: z.number().min(0.2).max(600).default(10),
    })
    .nullable()
    .default(null),
});


/**
 * Providers chosen by name: each name must be one its table knows (built here or not; one that is not built is said
 * when the character is built). A model's `llm_provider` is not checked here: any name upstream's template carries
 * loads, and one this server lacks answers with a `not_built` error.
 */
const CHOSEN_BY_NAME: readonly AnyProviderRegistry[] = [AGENT_PROVIDERS, TTS_PROVIDERS, ASR_PROVIDERS, TRANSLATOR_PROVIDERS];

function valueAt(value: unknown, keys: readonly string[]): unknown {
  for (const key of keys) value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/** A character config whose provider names are ones the tables know (its key relative to `character_config`). */
export const characterSchema = characterConfigSchema.superRefine((config, ctx) => {
  for (const registry of CHOSEN_BY_NAME) {
    const path = registry.key.split('.').slice(1);
    const name = valueAt(config, path);
    const known = knownNames(registry);
    if (typeof name === 'string' && !known.includes(name)) ctx.addIssue({ code: 'invalid_value', values: known, input: name, path });
  }
});

export const confFileSchema = z.object({
  system_config: systemConfigSchema.default(() => systemConfigSchema.parse({})),
  character_config: characterSchema,
  live_config: z
    .object({
      bilibili_live: z
        .object({ room_ids: z.array(z.number().int().positive()).default([]), sessdata: z.string().default('') })
        .optional(),
    })
    .optional(),
});

/** An alternate in `characters/` only needs what it changes; it is merged over conf.yaml's character_config. */
export const alternateFileSchema = z.object({
  character_config: z.record(z.string(), z.unknown()).optional(),
});


export type SystemConfig = z.infer<typeof systemConfigSchema>;
export type ConfFile = z.infer<typeof confFileSchema>;
