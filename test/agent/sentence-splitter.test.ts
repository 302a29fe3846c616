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
const texts = (units: TextUnit[]) => units.map((u) => (u.kind === 'sentence' ? u.text : `<${u.kind}>`));
const charByChar = (s: string) => [...s];

describe('sentence splitter (UPSTREAM-BEHAVIOR §2.5, defect #39 fixed)', () => {
  test('splits a streamed reply into sentences, whatever the chunking', () => {
    const reply = 'Hello there! How are you? I am fine.';
    const expected = ['Hello there!', 'How are you?', 'I am fine.'];
    expect(texts(split([reply]))).toEqual(expected);
    expect(texts(split(charByChar(reply)))).toEqual(expected);
    expect(texts(split(reply.match(/\S+\s*/g)!))).toEqual(expected);
  });

  test('a sentence is emitted as soon as the next one begins, not at the end of the stream', () => {
    const options = { fasterFirstResponse: false };
    let r = pushText(initialSplitter(), 'First one. ', options);
    expect(texts(r.units)).toEqual([]);
    r = pushText(r.state, 'Sec', options);
    expect(texts(r.units)).toEqual(['First one.']);
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
      { kind: 'sentence', text: 'Plan: be nice.', think: true },
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
