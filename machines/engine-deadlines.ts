/**
 * How long a turn waits on each engine (system_config: llm_first_output_timeout_seconds, llm_idle_timeout_seconds,
 * tts_timeout_seconds, asr_timeout_seconds). The machines turn them into named delays; an expiry is an ordinary
 * transition: one `error` frame naming the engine and the bound, the chain closed, the session goes on.
 */
export interface EngineDeadlines {
  /** From the request to the model's first streamed output. */
  llmFirstOutputMs: number;
  /** Between two streamed chunks of the model's output. */
  llmIdleMs: number;
  /** One sentence synthesised. */
  synthesisMs: number;
  /** One utterance transcribed. */
  transcriptionMs: number;
}

export const DEFAULT_ENGINE_DEADLINES: EngineDeadlines = {
  llmFirstOutputMs: 120_000,
  llmIdleMs: 60_000,
  synthesisMs: 60_000,
  transcriptionMs: 60_000,
};

/** The provider name of an engine, or `fallback` (no engine, or one without a name). */
export function engineName(engine: { readonly provider: string } | undefined, fallback: string): string {
  return engine?.provider || fallback;
}

/** `30 s`, `1.5 s`, `250 ms`: a bound as a person reads it. */
export function formatBound(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}
