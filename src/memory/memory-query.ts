import type { MemoryHit } from './memory-db.js';
import type { LearnedFact } from './memory-facts.js';

/**
 * From what the user said to a full-text query, and from the messages found to the lines the model is given. Pure.
 */

/** Words too common to say what a message is about (BM25 would weigh them little; they only slow the search). */
const STOP_WORDS = new Set(
  (
    'a an and are as at be but by do does did for from has have had he her him his how i if in is it its me my mine no not of on or our ' +
    'she so than that the their them then there these they this to too us was we were what when where which who whom why will with ' +
    'would you your yours can could should shall may might am been being just also about into over under again very s t d ll re ve m ' +
    'do did done tell know remember said say'
  ).split(' '),
);

/** Terms at most, so that a long message does not become a slow query. */
const MAX_TERMS = 24;

/** The words of a text that say what it is about: distinct, lower case, letters and digits only (safe to quote). */
export function queryTerms(text: string): string[] {
  const terms = new Set<string>();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    if (word.length < 2 || STOP_WORDS.has(word)) continue;
    terms.add(word);
    if (terms.size >= MAX_TERMS) break;
  }
  return [...terms];
}

/** The FTS5 query for terms: each quoted, any of them; '' for none. */
export const matchOf = (terms: readonly string[]) => terms.map((t) => `"${t}"`).join(' OR ');

/** The FTS5 query for a text. */
export const matchQuery = (text: string) => matchOf(queryTerms(text));

/** The day of a history timestamp (`2026-12-01T10:00:00` → `2026-12-01`). */
const dayOf = (timestamp: string) => timestamp.slice(0, 10);

/** Who said a remembered message, as the prompt names them. */
function speakerOf(hit: MemoryHit, names: { human: string; ai: string }): string {
  if (hit.name) return hit.name;
  return hit.role === 'human' ? names.human : hit.role === 'ai' ? names.ai : hit.role;
}

/**
 * The system text that carries the recalled memories: one line per message (`[date] Who: what`), the most relevant
 * first chosen until `maxCharacters` is spent, then shown oldest first. '' when nothing fits.
 */
export function recallText(hits: readonly MemoryHit[], maxCharacters: number, names: { human: string; ai: string }, facts: readonly LearnedFact[] = []): string {
  const header = 'Things you remember from earlier conversations with the user (date, who said it):';
  let budget = maxCharacters - header.length;
  const chosen: { hit: Pick<MemoryHit, 'timestamp'>; line: string }[] = [];
  // What the character learned comes first: one sentence says what many lines would.
  for (const fact of facts) {
    const line = `[${dayOf(fact.timestamp)}] (learned) ${fact.fact.replace(/\s+/g, ' ').trim()}`;
    if (line.length + 1 > budget) continue;
    budget -= line.length + 1;
    chosen.push({ hit: fact, line });
  }
  for (const hit of hits) {
    const content = hit.content.replace(/\s+/g, ' ').trim();
    if (!content) continue;
    const line = `[${dayOf(hit.timestamp)}] ${speakerOf(hit, names)}: ${content}`;
    if (line.length + 1 > budget) continue;
    budget -= line.length + 1;
    chosen.push({ hit, line });
  }
  if (chosen.length === 0) return '';
  chosen.sort((a, b) => (a.hit.timestamp < b.hit.timestamp ? -1 : a.hit.timestamp > b.hit.timestamp ? 1 : 0));
  return [header, ...chosen.map((c) => c.line)].join('\n');
}
