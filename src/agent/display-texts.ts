/**
 * Joins the display texts of a reply for storage. They keep the whitespace the model wrote between sentences; where a
 * text has none at its edge (older splitters trimmed them), a space is put between sentences, but none just inside
 * the parentheses that frame a thought. `[emotion]` tags stay: they are part of what the user saw.
 */
export function joinDisplayTexts(texts: readonly string[]): string {
  let out = '';
  for (const text of texts) {
    if (!text) continue;
    if (text === ')') {
      out = out.trimEnd() + text;
      continue;
    }
    const glue = out === '' || out.endsWith('(') || /\s$/.test(out) || /^\s/.test(text) ? '' : ' ';
    out += glue + (out.endsWith('(') ? text.trimStart() : text);
  }
  return out.trim();
}
