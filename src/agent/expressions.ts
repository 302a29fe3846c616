/**
 * `[emotion]` tags → `actions.expressions`: every `[key]` whose key (case-insensitive) is in the model's emotionMap,
 * in order of appearance, duplicates kept (docs/protocol.md, 'Reply text').
 */
export function extractExpressions(text: string, emotionMap: Record<string, number | string>): Array<number | string> {
  if (!text.includes('[')) return [];
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

/**
 * The text as the client shows it: the model's `[emotion]` tags (keys of the emotionMap, any case) removed, with
 * the space around them tidied ("[joy] Hi!" → "Hi!", "Oh [surprise] really?" → "Oh really?"). Other brackets stay.
 */
export function stripEmotionTags(text: string, emotionMap: Record<string, number | string>): string {
  if (!text.includes('[')) return text;
  const keys = new Set(Object.keys(emotionMap).map((k) => k.toLowerCase()));
  if (keys.size === 0) return text;
  let changed = false;
  const out = text.replace(/([ \t]*)\[([^[\]]+)\]([ \t]*)/g, (whole: string, before: string, key: string, after: string, offset: number) => {
    if (!keys.has(key.trim().toLowerCase())) return whole;
    changed = true;
    const next = text[offset + whole.length];
    if (offset === 0 || next === undefined || /[\s,.!?;:…。！？，、)]/.test(next)) return '';
    return before || after ? ' ' : '';
  });
  if (!changed) return text;
  // The whitespace around the sentence is the model's (it separates sentences in the client's bubble): kept.
  const core = out.trim();
  return core ? `${/^\s*/.exec(text)![0]}${core}${/\s*$/.exec(text)![0]}` : '';
}
