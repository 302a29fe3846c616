import { isPlainObject } from './deep-merge.js';

/**
 * Keys present in what the user wrote but absent from what the schema produced: keys this server does not
 * understand (yet). They are reported, never silently dropped; the raw file stays the source for merges.
 */
export function unsupportedKeys(raw: unknown, parsed: unknown, prefix = ''): string[] {
  if (!isPlainObject(raw) || !isPlainObject(parsed)) return [];
  const found: string[] = [];
  for (const [key, value] of Object.entries(raw)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (!(key in parsed)) found.push(path);
    else found.push(...unsupportedKeys(value, parsed[key], path));
  }
  return found;
}

/** An upstream key this server accepts but does not act on, and what happens instead. */
export interface IgnoredKey {
  path: string;
  instead: string;
}

const IGNORED_UPSTREAM_KEYS: Array<{ path: string[]; active: (value: unknown) => boolean; instead: string }> = [
  {
    path: ['character_config', 'agent_config', 'agent_settings', 'basic_memory_agent', 'segment_method'],
    active: (v) => v !== undefined && v !== null,
    instead: "sentences are split by this server's own splitter (pysbd and regex are not used)",
  },
];

function at(raw: unknown, keys: readonly string[]): unknown {
  let value = raw;
  for (const key of keys) {
    if (!isPlainObject(value)) return undefined;
    value = value[key];
  }
  return value;
}

/** Upstream features the user turned on in `raw` (a config file as written) that this server accepts but ignores. */
export function ignoredUpstreamKeys(raw: unknown): IgnoredKey[] {
  return IGNORED_UPSTREAM_KEYS.filter((k) => k.active(at(raw, k.path))).map((k) => ({ path: k.path.join('.'), instead: k.instead }));
}

/** At startup: each upstream feature that is on but not implemented, with what happens instead; then unknown keys. */
export function reportIgnoredKeys(
  configName: string,
  found: { unsupported: readonly string[]; ignored: readonly IgnoredKey[] },
  logger: { warn(message: string): unknown },
): void {
  for (const key of found.ignored) logger.warn(`${configName}: ${key.path} is accepted but not supported: ${key.instead}`);
  if (found.unsupported.length > 0) logger.warn(`${configName}: not supported yet (kept, but ignored): ${found.unsupported.join(', ')}`);
}
