/**
 * Ollama's `keep_alive`, which llama_cpp_llm takes with the same meaning: how long a model stays loaded after its
 * last use, as seconds (a number or a numeric string) or a duration ("30s", "5m", "1h", "1h30m"); negative: until the
 * server stops; 0: unloaded as soon as the reply is written. Returns milliseconds, null for "until stop", or
 * undefined when the value is not one of these.
 */
export function keepAliveMs(value: number | string): number | null | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? (value < 0 ? null : value * 1000) : undefined;
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return keepAliveMs(Number(text));
  if (/^-/.test(text)) return /^-\d/.test(text) ? null : undefined;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * units[unit!]!, 0);
}
