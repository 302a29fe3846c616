/**
 * `[emotion]` tags → `actions.expressions`: every `[key]` whose key (case-insensitive) is in the model's emotionMap,
 * in order of appearance, duplicates kept (UPSTREAM-BEHAVIOR §2.5). The tags stay in the displayed text.
 */
export function extractExpressions(text: string, emotionMap: Record<string, number | string>): Array<number | string> {
  const lowered = new Map(Object.entries(emotionMap).map(([k, v]) => [k.toLowerCase(), v]));
  const found: Array<number | string> = [];
  for (const match of text.matchAll(/\[([^[\]]+)\]/g)) {
    const value = lowered.get(match[1]!.trim().toLowerCase());
    if (value !== undefined) found.push(value);
  }
  return found;
}

/** `[neutral], [anger], …` — the keys as the expression prompt lists them (upstream's emo_str). */
export function emotionKeysText(emotionMap: Record<string, number | string>): string {
  return Object.keys(emotionMap)
    .map((k) => `[${k}],`)
    .join(' ');
}
