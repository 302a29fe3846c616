/**
 * Streaming sentence splitter for LLM output (UPSTREAM-BEHAVIOR §2.5), as pure functions over a small state so a
 * turn machine can keep it in its context.
 *
 * Sentence boundaries come from `Intl.Segmenter` (Unicode UAX #29): decimals (`3.14`), `|` and URLs do not end a
 * sentence. A sentence is emitted once the next one has begun (or the stream ends), so nothing is cut early, and
 * nothing is ever dropped: text before a `<think>` tag is emitted whole, and the remainder is flushed at the end.
 * Segments ending in a common abbreviation (`Dr.`, `e.g.`) are joined to the next one.
 * With `fasterFirstResponse`, the first sentence is cut at its first comma so speech can start sooner.
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

const segmenter = new Intl.Segmenter(undefined, { granularity: 'sentence' });
/** Characters after which UAX #29 may end a sentence; without one, the text is a single segment. */
const MAY_END = /[.!?\n\r\u2028\u2029\u0964\u0965\u061f\u06d4\u3002\uff01\uff1f\uff0e\u2026\u203c\u203d\u2047-\u2049\u0589\u104b\u1362\ufe12\ufe52\ufe56\ufe57\u0085]/;
const THINK_TAG = /<(\/?)think\s*(\/?)>/i;
const TAG_PREFIXES = ['<think>', '</think>', '<think/>'];
const COMMAS = /[,،，、፣၊;΄‛﹐꓾⹁︐﹑､]/g;
/** Titles and Latin abbreviations that end in a period without ending the sentence. */
const ABBREVIATION = /(?:^|[\s(])(?:mr|mrs|ms|dr|prof|inc|ltd|jr|sr|st|rd|vs|e\.g|i\.e|approx|vol|fig)\.\s*$/i;

/** Length of a trailing fragment that may still grow into a think tag (held back until it is decided). */
function pendingTagLength(buffer: string): number {
  const lt = buffer.lastIndexOf('<');
  if (lt === -1) return 0;
  const tail = buffer.slice(lt).toLowerCase();
  return TAG_PREFIXES.some((tag) => tag.startsWith(tail) && tail.length < tag.length) ? buffer.length - lt : 0;
}

function segments(text: string): string[] {
  if (!MAY_END.test(text)) return text ? [text] : []; // the common case while a sentence streams in: no segmenter run
  const raw = Array.from(segmenter.segment(text), (s) => s.segment);
  const merged: string[] = [];
  for (const segment of raw) {
    const last = merged.length - 1;
    if (last >= 0 && ABBREVIATION.test(merged[last]!)) merged[last] += segment;
    else merged.push(segment);
  }
  return merged;
}

/** Index just past the first comma that is not inside a number (`1,000`), or -1. */
function firstCommaEnd(text: string): number {
  for (const match of text.matchAll(COMMAS)) {
    const i = match.index!;
    if (/\d/.test(text[i - 1] ?? '') && /\d/.test(text[i + 1] ?? '')) continue;
    if (i + 1 >= text.length) return -1; // the next character decides whether it is a number
    return i + 1;
  }
  return -1;
}

function sentence(text: string, think: boolean): TextUnit[] {
  const trimmed = text.trim();
  return trimmed ? [{ kind: 'sentence', text: trimmed, think }] : [];
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
      for (const s of segments(buffer.slice(0, tag.index))) emit(sentence(s, inThink));
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
    const held = final ? 0 : pendingTagLength(buffer);
    const open = buffer.slice(0, buffer.length - held);
    const parts = segments(open);
    const complete = final ? parts : parts.slice(0, -1);
    if (complete.length > 0) {
      for (const s of complete) emit(sentence(s, inThink));
      buffer = final ? '' : parts[parts.length - 1]! + buffer.slice(buffer.length - held);
      continue;
    }
    if (!final && !firstEmitted && !inThink && options.fasterFirstResponse) {
      const cut = firstCommaEnd(open);
      if (cut > 0 && open.slice(0, cut).trim().length > 1) {
        emit(sentence(open.slice(0, cut), false));
        buffer = buffer.slice(cut);
        continue;
      }
    }
    if (final) buffer = '';
    break;
  }
  return { state: { buffer, firstEmitted, inThink }, units };
}
