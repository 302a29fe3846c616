import fc from 'fast-check';
import { flushText, initialSplitter, pushText, type TextUnit } from '../../src/agent/sentence-splitter.js';

/** Feeds `chunks` as a stream; returns every unit in order. */
function split(chunks: string[], fasterFirstResponse = false): TextUnit[] {
  const options = { fasterFirstResponse };
  let state = initialSplitter();
  const units: TextUnit[] = [];
  for (const chunk of chunks) {
    const r = pushText(state, chunk, options);
    state = r.state;
    units.push(...r.units);
  }
  units.push(...flushText(state, options).units);
  return units;
}
/** The units, each sentence without the whitespace that separated it from the next. */
const texts = (units: TextUnit[]) => units.map((u) => (u.kind === 'sentence' ? u.text.trim() : `<${u.kind}>`));
/** The units exactly as emitted. */
const raw = (units: TextUnit[]) => units.map((u) => (u.kind === 'sentence' ? u.text : `<${u.kind}>`));
const charByChar = (s: string) => [...s];

describe('sentence splitter (docs/protocol.md: Reply text; U16)', () => {
  test('splits a streamed reply into sentences, whatever the chunking', () => {
    const reply = 'Hello there! How are you? I am fine.';
    const expected = ['Hello there!', 'How are you?', 'I am fine.'];
    expect(texts(split([reply]))).toEqual(expected);
    expect(texts(split(charByChar(reply)))).toEqual(expected);
    expect(texts(split(reply.match(/\S+\s*/g)!))).toEqual(expected);
  });

  test('a sentence is emitted as soon as its terminator and the next space have arrived, not at the end of the stream', () => {
    const options = { fasterFirstResponse: false };
    let r = pushText(initialSplitter(), 'First one.', options);
    expect(texts(r.units)).toEqual([]);
    r = pushText(r.state, ' ', options);
    expect(raw(r.units)).toEqual(['First one. ']);
  });

  test('decimals, version numbers and URLs do not end a sentence', () => {
    expect(texts(split(charByChar('Pi is 3.14159 today. Version 2.0.1 is out. See example.com for more.')))).toEqual([
      'Pi is 3.14159 today.',
      'Version 2.0.1 is out.',
      'See example.com for more.',
    ]);
  });

  test('abbreviations do not end a sentence, and no text after them is dropped', () => {
    expect(texts(split(charByChar('I met Dr. Smith and Mr. Brown, e.g. at work. Then we left.')))).toEqual([
      'I met Dr. Smith and Mr. Brown, e.g. at work.',
      'Then we left.',
    ]);
    expect(texts(split(['Say hi to Dr.']))).toEqual(['Say hi to Dr.']);
    expect(texts(split(['The answer is no. Really.']))).toEqual(['The answer is no.', 'Really.']);
  });

  test('"|" is text, not a sentence end', () => {
    expect(texts(split(['Options are A | B | C. Pick one.']))).toEqual(['Options are A | B | C.', 'Pick one.']);
  });

  test('nothing is dropped: a trailing fragment without punctuation, or text right before a tag', () => {
    expect(texts(split(['Complete sentence. And a fragment']))).toEqual(['Complete sentence.', 'And a fragment']);
    expect(texts(split(['Done. Half a thought<think>inner</think>after']))).toEqual([
      'Done.',
      'Half a thought',
      '<think-start>',
      'inner',
      '<think-end>',
      'after',
    ]);
  });

  test('think tags split across chunks, nested or self-closing', () => {
    const units = split(['<th', 'ink>Plan: be nice.', ' Then act.</thi', 'nk>Hello!']);
    expect(units).toEqual([
      { kind: 'think-start' },
      { kind: 'sentence', text: 'Plan: be nice. ', think: true },
      { kind: 'sentence', text: 'Then act.', think: true },
      { kind: 'think-end' },
      { kind: 'sentence', text: 'Hello!', think: false },
    ]);
    expect(texts(split(['A<think/>B.']))).toEqual(['A', 'B.']);
    expect(texts(split(['a < b and c > d.']))).toEqual(['a < b and c > d.']);
  });

  test('faster_first_response cuts the first sentence at its earliest comma, once, and not inside numbers', () => {
    expect(texts(split(charByChar('Well, I think so; maybe. Yes, sure.'), true))).toEqual(['Well,', 'I think so; maybe.', 'Yes, sure.']);
    expect(texts(split(charByChar('We had 1,000 guests, all happy.'), true))).toEqual(['We had 1,000 guests,', 'all happy.']);
    expect(texts(split(charByChar('嗯，我觉得可以。好的。'), true))).toEqual(['嗯，', '我觉得可以。', '好的。']);
    expect(texts(split(charByChar('Well, I think so.'), false))).toEqual(['Well, I think so.']);
  });

  test('CJK punctuation ends sentences', () => {
    expect(texts(split(['你好！今天怎么样？我很好。']))).toEqual(['你好！', '今天怎么样？', '我很好。']);
  });

  test('newlines separate list items', () => {
    expect(texts(split(['Three things:\n- apples\n- pears\nThat is all.']))).toEqual(['Three things:', '- apples', '- pears', 'That is all.']);
  });
});

describe('sentence rules speech needs (issue: lower-case starts, whitespace, properties)', () => {
  test('a sentence ends before a lower-case word too, so speech starts with the first sentence', () => {
    const options = { fasterFirstResponse: false };
    const r = pushText(initialSplitter(), 'It is sunny today. we are going out', options);
    expect(raw(r.units)).toEqual(['It is sunny today. ']);
    expect(texts(split(['hello there. how are you? fine… thanks! ok.']))).toEqual(['hello there.', 'how are you?', 'fine…', 'thanks!', 'ok.']);
  });

  test('the whitespace between sentences stays with the display text ("Hi! It\'s nice", never "Hi!It\'s nice")', () => {
    const reply = "Hi! It's nice to see you.  What now?";
    expect(raw(split([reply]))).toEqual(['Hi! ', "It's nice to see you. ", ' What now?']);
    expect(raw(split(charByChar(reply))).join('')).toBe(reply);
  });

  test('not inside decimals, URLs, e-mail addresses, abbreviations or numbered-list markers', () => {
    expect(texts(split(['Mail me at jo.smith@example.org. The price is 3.50 dollars. See https://x.org/a.b?c=1 now.']))).toEqual([
      'Mail me at jo.smith@example.org.',
      'The price is 3.50 dollars.',
      'See https://x.org/a.b?c=1 now.',
    ]);
    expect(texts(split(['Steps: 1. Open it. 2. Close it.\n3. Done.']))).toEqual(['Steps: 1. Open it.', '2. Close it.', '3. Done.']);
    expect(texts(split(['The answer is 42. next one.']))).toEqual(['The answer is 42.', 'next one.']);
    expect(texts(split(['He said "stop." then left.']))).toEqual(['He said "stop."', 'then left.']);
    expect(texts(split(['真的吗？」他问。好。']))).toEqual(['真的吗？」', '他问。', '好。']);
  });

  // Text a model might write: words in both cases, every kind of terminator, numbers, URLs, lists, CJK, newlines.
  const piece = fc.constantFrom(
    'hello', 'World', 'we', 'It', 'today', ' ', ' ', '  ', '. ', '! ', '? ', '?! ', '... ', '… ', '.', ',', ', ', '\n', '3.14', '1,000',
    'Dr. ', 'e.g. ', 'example.com', 'jo@x.org', '1. ', ': ', '你好', '。', '！', '"', ')', '|',
  );
  const replyText = fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));
  const chunked = (text: string) =>
    fc.array(fc.integer({ min: 0, max: text.length }), { maxLength: 12 }).map((cuts) => {
      const at = [...new Set([0, ...cuts, text.length])].sort((a, b) => a - b);
      return at.slice(1).map((end, i) => text.slice(at[i], end));
    });

  test('property: the sentences put back together are the input, apart from whitespace at the cuts', () => {
    fc.assert(
      fc.property(replyText, fc.boolean(), (text, faster) => {
        const joined = raw(split([text], faster)).join('');
        let i = 0;
        for (const ch of joined) {
          while (i < text.length && text[i] !== ch && /\s/.test(text[i]!)) i++; // only whitespace may be missing
          expect(text[i]).toBe(ch);
          i++;
        }
        expect(text.slice(i).trim()).toBe('');
      }),
      { numRuns: 500 },
    );
  });

  test('property: any chunking of the stream gives the same sentences', () => {
    fc.assert(
      fc.property(
        replyText.chain((text) => fc.tuple(fc.constant(text), chunked(text))),
        fc.boolean(),
        ([text, chunks], faster) => {
          expect(raw(split(chunks, faster))).toEqual(raw(split([text], faster)));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: no sentence is held back once its terminator and the next space have arrived', () => {
    const options = { fasterFirstResponse: false };
    fc.assert(
      fc.property(replyText, (text) => {
        const whole = raw(split([text]));
        let end = 0;
        for (const [k, sentenceText] of whole.slice(0, -1).entries()) {
          end = text.indexOf(sentenceText, end) + sentenceText.length;
          // A sentence that ends in whitespace (after its terminator) is out as soon as that whitespace is.
          if (!/\s$/.test(sentenceText)) continue;
          const emitted = pushText(initialSplitter(), text.slice(0, end), options).units.length;
          expect(emitted).toBeGreaterThanOrEqual(k + 1);
        }
      }),
      { numRuns: 500 },
    );
  });
});
