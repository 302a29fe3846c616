import { addMessage, INTERRUPT_MARKER, rememberInterrupt, verifiedHeardText } from '../../src/agent/chat-memory.js';
import { emotionKeysText, extractExpressions } from '../../src/agent/expressions.js';
import { isSpeakable, ttsText } from '../../src/agent/tts-filters.js';
import { claudeMessages } from '../../src/engines/llm/claude.js';
import { elizaReply, reflect } from '../../src/engines/llm/eliza.js';

const all = { remove_special_char: true, ignore_brackets: true, ignore_parentheses: true, ignore_asterisks: true, ignore_angle_brackets: true, translator_config: { translate_audio: false } };
const none = { ...all, remove_special_char: false, ignore_brackets: false, ignore_parentheses: false, ignore_asterisks: false, ignore_angle_brackets: false };
const emotionMap = { neutral: 0, Joy: 3, smirk: 'Smirk' };

describe('TTS filters', () => {
  test('each filter, in upstream order', () => {
    expect(ttsText('[joy] Hello *waves* there (quietly) <b>friend</b> 😀!', all)).toBe('Hello there friend !');
    expect(ttsText('[joy] Hello *waves* there', none)).toBe('[joy] Hello *waves* there');
    expect(ttsText('a [b [c] d] e] f', all)).toBe('a e f');
    expect(ttsText('**bold** text', all)).toBe('text');
    expect(ttsText('ｆｕｌｌ width ①', all)).toBe('full width 1');
  });
  test('punctuation-only text is not speakable', () => {
    expect(isSpeakable('...')).toBe(false);
    expect(isSpeakable(' 。！ ')).toBe(false);
    expect(isSpeakable('ok')).toBe(true);
  });
});

describe('expressions', () => {
  test('every known [key], case-insensitive, in order, duplicates kept; unknown keys ignored', () => {
    expect(extractExpressions('[JOY] Hi [unknown] [neutral] and [joy] [smirk]', emotionMap)).toEqual([3, 0, 3, 'Smirk']);
    expect(extractExpressions('No tags.', emotionMap)).toEqual([]);
  });
  test('the prompt lists the keys as upstream does', () => {
    expect(emotionKeysText(emotionMap)).toBe('[neutral], [Joy], [smirk],');
  });
});

describe('chat memory', () => {
  test('empty assistant replies and exact repeats are not stored', () => {
    let memory = addMessage([], { role: 'user', content: 'hi' });
    memory = addMessage(memory, { role: 'user', content: 'hi' });
    memory = addMessage(memory, { role: 'assistant', content: '   ' });
    expect(memory).toEqual([{ role: 'user', content: 'hi' }]);
  });
  test('an interrupt keeps the heard text with "..." and adds the marker in the provider\'s role', () => {
    expect(rememberInterrupt([{ role: 'user', content: 'story' }], 'Once upon a time.', 'system')).toEqual([
      { role: 'user', content: 'story' },
      { role: 'assistant', content: 'Once upon a time....' },
      { role: 'system', content: INTERRUPT_MARKER },
    ]);
    expect(rememberInterrupt([], '', 'user')).toEqual([{ role: 'user', content: INTERRUPT_MARKER }]);
  });
  test('heard text is trusted only as far as it matches what was sent (U13)', () => {
    const sent = ['[joy] Hello there!', 'How are you?', 'Fine.'];
    expect(verifiedHeardText('[joy] Hello there!How are you?', sent)).toBe('[joy] Hello there! How are you?');
    expect(verifiedHeardText('[joy] Hello there!Something else', sent)).toBe('[joy] Hello there!');
    expect(verifiedHeardText('Obey me.', sent)).toBe('');
    expect(verifiedHeardText('', sent)).toBe('');
  });
});

describe('Claude message shape', () => {
  test('system markers become user text, neighbours merge, and the first turn is the user\'s', () => {
    expect(
      claudeMessages([
        { role: 'assistant', content: 'Hey there!' },
        { role: 'user', content: 'hi' },
        { role: 'system', content: INTERRUPT_MARKER },
        { role: 'assistant', content: 'ok' },
      ]),
    ).toEqual([
      { role: 'user', content: '(conversation start)' },
      { role: 'assistant', content: 'Hey there!' },
      { role: 'user', content: `hi\n${INTERRUPT_MARKER}` },
      { role: 'assistant', content: 'ok' },
    ]);
  });
});

describe('built-in offline talker', () => {
  const persona = { name: 'Mao', emotionKeys: ['joy', 'sadness', 'surprise'] };
  test('reflects what the user says about themselves', () => {
    expect(reflect('I am tired of my job')).toBe('you are tired of your job');
    expect(elizaReply('I feel tired of my job.', [], persona)).toBe('Why do you feel tired of your job?');
  });
  test('greets, talks about itself, and uses only emotion tags the model has', () => {
    expect(elizaReply('hello', [], persona)).toMatch(/^\[joy\] Hi!/);
    expect(elizaReply('hello', [], { name: 'Mao', emotionKeys: [] })).toMatch(/^Hi!/);
    expect(elizaReply('Who are you?', [], persona)).toMatch(/I'm Mao!.*offline/);
  });
});
