/**
 * Streaming sentence splitter for LLM output (docs/protocol.md, 'Reply text'), as pure functions over a small state so
 * a turn machine can keep it in its context.
 *
 * The rules are the ones speech needs, not those of text layout (`Intl.Segmenter`, UAX #29, never ends a sentence
 * before a lower-case word, so a model that writes "…today. we are…" would be spoken in one piece, after it had
 * streamed whole):
 *  - a sentence ends at `.` `!` `?` `…` (and their runs, `?!`, `...`, with closing quotes or brackets) followed by
 *    whitespace, whatever the case of the next letter; at CJK terminators `。！？` with nothing after them; at a line
 *    break;
 *  - not inside decimals, URLs or e-mail addresses (no whitespace follows their dots), not after a known abbreviation
 *    (`Dr.`, `e.g.`), and not after a numbered-list marker (`1. `) at the start of a sentence or line or after a colon;
 *  - a sentence is emitted as soon as its terminator and the next whitespace character have arrived; that whitespace
 *    stays with it, so display texts put back together read as the model wrote them ("Hi! " + "It's nice.");
 *  - nothing is dropped: text before a `<think>` tag is emitted whole, and the remainder is flushed at the end;
 *  - with `fasterFirstResponse`, the first sentence is cut at its first comma (not inside `1,000`) when that comes
 *    before its end, so speech can start sooner.
 * Every decision depends on the text alone, never on how the stream was cut into chunks.
 */

export type TextUnit =
  | { kind: 'sentence'; text: string; think: boolean }
  | { kind: 'think-start' }
  | { kind: 'think-end' };

export interface SplitterState {
  buffer: string;
  firstEmitted: boolean;
  inThink: boolean;
}

export interface SplitterOptions {
  fasterFirstResponse: boolean;
}

export const initialSplitter = (): SplitterState => ({ buffer: '', firstEmitted: false, inThink: false });

/** End a sentence when whitespace follows. */
const TERMINATORS = new Set([...'.!?…‼⁇⁈⁉؟۔।॥']);
/** End a sentence on their own (no space is written after them). */
const CJK_TERMINATORS = new Set([...'。！？｡']);
/** May follow a terminator and still belong to its sentence. */
const CLOSERS = new Set([...'"\'”’»)]}」』）】〕〉》']);
const LINE_BREAKS = new Set(['\n', '\r', '\u2028', '\u2029', '\u0085']);
const SPACE = /\s/;
const COMMAS = /[,،，、፣၊;΄‛﹐꓾⹁︐﹑､]/g;
const THINK_TAG = /<(\/?)think\s*(\/?)>/i;
const TAG_PREFIXES = ['<think>', '</think>', '<think/>'];
/** Titles and Latin abbreviations that end in a period without ending the sentence. */
const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'inc', 'ltd', 'jr', 'sr', 'st', 'rd', 'vs', 'e.g', 'i.e', 'approx', 'vol', 'fig', 'cf']);

/** Length of a trailing fragment that may still grow into a think tag (held back until it is decided). */
function pendingTagLength(buffer: string): number {
  const lt = buffer.lastIndexOf('<');
  if (lt === -1) return 0;
  const tail = buffer.slice(lt).toLowerCase();
  return TAG_PREFIXES.some((tag) => tag.startsWith(tail) && tail.length < tag.length) ? buffer.length - lt : 0;
}

/** A period at `i` (followed by whitespace) that does not end the sentence starting at 0. */
function periodContinues(text: string, i: number): boolean {
  let start = i;
  while (start > 0 && !SPACE.test(text[start - 1]!) && text[start - 1] !== '(') start--;
  const word = text.slice(start, i).replace(/^[^\p{L}\p{N}]+/u, '');
  if (ABBREVIATIONS.has(word.toLowerCase())) return true;
  // "1. " at the start of a sentence or a line, or after a colon: a numbered list, not the end of anything.
  if (/^\d{1,3}$/.test(word)) {
    const before = text.slice(0, start).trimEnd();
    return before === '' || LINE_BREAKS.has(text[start - 1]!) || before.endsWith(':');
  }
  return false;
}

/**
 * Index just past the first complete sentence of `text` (its separating whitespace character included), or -1
 * when none is complete yet. With `final`, the end of the text completes a terminator that waits for what follows.
 */
function sentenceEnd(text: string, final: boolean): number {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (LINE_BREAKS.has(ch)) return i + 1;
    const cjk = CJK_TERMINATORS.has(ch);
    if (!cjk && !TERMINATORS.has(ch)) continue;
    let j = i + 1;
    while (j < text.length && (TERMINATORS.has(text[j]!) || CJK_TERMINATORS.has(text[j]!) || CLOSERS.has(text[j]!))) j++;
    if (j === text.length) return final ? j : -1; // what follows decides
    if (cjk) return SPACE.test(text[j]!) ? j + 1 : j;
    if (!SPACE.test(text[j]!)) {
      i = j - 1; // 3.14, example.com, e.g.x: not an end
      continue;
    }
    if (ch === '.' && j === i + 1 && periodContinues(text, i)) continue;
    return j + 1;
  }
  return -1;
}

/** Index just past the first comma that is not inside a number (`1,000`) and its whitespace, or -1. */
function firstCommaEnd(text: string): number {
  for (const match of text.matchAll(COMMAS)) {
    const i = match.index!;
    if (/\d/.test(text[i - 1] ?? '') && /\d/.test(text[i + 1] ?? '')) continue;
    if (i + 1 >= text.length) return -1; // the next character decides whether it is a number
    if (text.slice(0, i).trim().length < 1) continue;
    return SPACE.test(text[i + 1]!) ? i + 2 : i + 1;
  }
  return -1;
}

function sentence(text: string, think: boolean): TextUnit[] {
  return text.trim() ? [{ kind: 'sentence', text, think }] : [];
}

/** Every sentence of a text known to be complete (before a tag, or at the end of the stream). */
function allSentences(text: string, think: boolean): TextUnit[] {
  const units: TextUnit[] = [];
  let rest = text;
  while (rest) {
    const end = sentenceEnd(rest, true);
    const cut = end === -1 ? rest.length : end;
    units.push(...sentence(rest.slice(0, cut), think));
    rest = rest.slice(cut);
  }
  return units;
}

export function pushText(state: SplitterState, text: string, options: SplitterOptions): { state: SplitterState; units: TextUnit[] } {
  return drain({ ...state, buffer: state.buffer + text }, options, false);
}

/** End of the stream: everything still buffered is emitted. */
export function flushText(state: SplitterState, options: SplitterOptions): { state: SplitterState; units: TextUnit[] } {
  return drain(state, options, true);
}

function drain(start: SplitterState, options: SplitterOptions, final: boolean): { state: SplitterState; units: TextUnit[] } {
  let { buffer, firstEmitted, inThink } = start;
  const units: TextUnit[] = [];
  const emit = (list: TextUnit[]) => {
    if (list.length > 0 && !inThink) firstEmitted = true;
    units.push(...list);
  };

  for (;;) {
    const tag = THINK_TAG.exec(buffer);
    if (tag) {
      // Text before a tag is complete: the tag is a boundary.
      emit(allSentences(buffer.slice(0, tag.index), inThink));
      buffer = buffer.slice(tag.index + tag[0].length);
      if (tag[2] === '/') continue; // <think/>: an empty thought
      if (tag[1] === '/') {
        if (inThink) units.push({ kind: 'think-end' });
        inThink = false;
      } else if (!inThink) {
        units.push({ kind: 'think-start' });
        inThink = true;
      }
      continue;
    }
    if (final) {
      emit(allSentences(buffer, inThink));
      buffer = '';
      break;
    }
    const open = buffer.slice(0, buffer.length - pendingTagLength(buffer));
    let cut = sentenceEnd(open, false);
    if (!firstEmitted && !inThink && options.fasterFirstResponse) {
      const comma = firstCommaEnd(cut === -1 ? open : open.slice(0, cut));
      if (comma > 0) cut = comma;
    }
    if (cut === -1) break;
    emit(sentence(buffer.slice(0, cut), inThink));
    buffer = buffer.slice(cut);
  }
  return { state: { buffer, firstEmitted, inThink }, units };
}
