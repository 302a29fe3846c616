/**
 * The stable `code` of an `error` frame (docs/protocol.md, 'Error codes': clients read `message`; `code` is this
 * server's addition). Metrics count error frames by code, so a message can be reworded without changing what is
 * counted. One place, pure: machines and src/ build error frames with `errorFrame`.
 */
export const ERROR_CODES = {
  invalid_frame: 'a frame the server could not accept (malformed, unknown type, binary, sent too early)',
  not_supported: 'a request this server does not support yet',
  busy_switching: 'conversation input during a character switch',
  mic_too_long: 'voice input longer than mic_max_seconds was dropped',
  no_mic_audio: 'mic-audio-end without any audio',
  session_setup: 'the session could not be set up',
  switch_failed: 'switch-config failed; the current character stays',
  history: 'a chat history could not be read, written or deleted',
  query_failed: 'another request failed',
  too_many_requests: 'a client had max_pending_requests requests waiting already',
  tts: 'speech synthesis failed',
  conversation: 'a turn failed in an unexpected way',
  llm: 'the language model failed',
  llm_timeout: 'the language model did not answer within its deadline',
  model_load: 'a model this server runs (llama_cpp_llm) could not be loaded: missing, damaged, or not enough memory',
  model_busy: 'a model this server runs had max_queued replies waiting already',
  model_downloading: 'a model the character needs is still being downloaded',
  not_built: 'the configuration selects a provider or agent that this server does not have',
  tts_timeout: 'a synthesis did not finish within its deadline',
  asr: 'speech recognition failed',
  asr_timeout: 'speech recognition did not finish within its deadline',
  vad: 'voice detection on the server (raw-audio-data) failed: no model, a model that does not load, or too far behind',
  mcp: 'MCP tools could not be listed or started',
  proxy: 'a /proxy-ws request could not be served',
  cluster_unavailable: 'what crosses instances (the shared /proxy-ws session) waits for Redis or for the lease to settle; it recovers by itself',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorFrame {
  type: 'error';
  message: string;
  code?: ErrorCode;
}

export function errorFrame(code: ErrorCode, message: string): ErrorFrame & { code: ErrorCode } {
  return { type: 'error', code, message };
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}
