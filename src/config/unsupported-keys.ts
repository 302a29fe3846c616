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
