import { stripEmotionTags } from '../../src/agent/expressions.js';
import { tokens } from '../fakes/fake-ai-server.js';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { TestClient } from '../helpers/ws-client.js';

const MAP = { neutral: 0, joy: 3, sadness: 1, surprise: 3 };

describe('stripEmotionTags: the text the client shows', () => {
  test.each([
    ['[joy] Hello there!', 'Hello there!'],
    ['Oh [surprise] really?', 'Oh really?'],
    ['Well done [JOY]!', 'Well done!'],
    ['[joy][sadness] Mixed.', 'Mixed.'],
    ['See note [1] and [unknown] here.', 'See note [1] and [unknown] here.'],
    ['Hello [ joy ] friend', 'Hello friend'],
    ['[joy]', ''],
    ['No tags at all.', 'No tags at all.'],
  ])('%j → %j', (text, shown) => {
    expect(stripEmotionTags(text, MAP)).toBe(shown);
  });

  test('a model without expressions (empty emotionMap) changes nothing', () => {
    expect(stripEmotionTags('[joy] Hi', {})).toBe('[joy] Hi');
  });
});

describe('emotion tags: expressions in actions, not text in the chat; memory and history keep them', () => {
  const harness = useFakeEngineServer();

  test('display_text has no tags, actions.expressions has them, the model gets its own words back', async () => {
    harness.fake.llm = () => ({ tokens: tokens('[joy] Hello there! [sadness] I missed you.') });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    const before = harness.fake.chatRequests().length;
    client.send({ type: 'text-input', text: 'Hi!', images: [] });
    await client.next('backend-synth-complete');
    const audio = client.ofType('audio');
    expect(audio.map((f) => [(f.display_text as { text: string }).text, f.actions])).toEqual([
      ['Hello there! ', { expressions: [3] }],
      ['I missed you.', { expressions: [1] }],
    ]);
    client.send({ type: 'frontend-playback-complete' });
    await client.next('control', 3);
    harness.fake.llm = () => ({ tokens: tokens('Ok.') });
    client.send({ type: 'text-input', text: 'And?', images: [] });
    await client.next('backend-synth-complete', 2);
    expect(harness.fake.chatRequests()[before + 1]!.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'Hi!' },
      { role: 'assistant', content: '[joy] Hello there! [sadness] I missed you.' },
      { role: 'user', content: 'And?' },
    ]);
    await client.close();
  });

  test('a loaded history shows the replies without tags, and gives the model its own words (with tags) back', async () => {
    harness.fake.llm = () => ({ tokens: tokens('[joy] Glad you came back!') });
    const first = await TestClient.connect(harness.server.wsUrl);
    await first.ready();
    first.send({ type: 'create-new-history' });
    const uid = (await first.next('new-history-created')).history_uid as string;
    first.send({ type: 'text-input', text: 'I am back', images: [] });
    await first.next('backend-synth-complete');
    first.send({ type: 'frontend-playback-complete' });
    await first.next('force-new-message');
    await first.close();
    await harness.server.history.flush();

    const second = await TestClient.connect(harness.server.wsUrl);
    await second.ready();
    second.send({ type: 'fetch-history-list' });
    const list = (await second.next('history-list')).histories as Array<{ uid: string; latest_message: { content: string } }>;
    expect(list.find((h) => h.uid === uid)!.latest_message.content).toBe('Glad you came back!');
    second.send({ type: 'fetch-and-set-history', history_uid: uid });
    const data = await second.next('history-data');
    expect((data.messages as Array<{ role: string; content: string }>).map((m) => [m.role, m.content])).toEqual([
      ['human', 'I am back'],
      ['ai', 'Glad you came back!'],
    ]);
    const before = harness.fake.chatRequests().length;
    harness.fake.llm = () => ({ tokens: tokens('Ok.') });
    second.send({ type: 'text-input', text: 'Hello again', images: [] });
    await second.next('backend-synth-complete');
    expect(harness.fake.chatRequests()[before]!.body.messages.slice(1)).toEqual([
      { role: 'user', content: 'I am back' },
      { role: 'assistant', content: '[joy] Glad you came back!' },
      { role: 'user', content: 'Hello again' },
    ]);
    await second.close();
  });

  test('an interrupt: the client reports the shown text; memory keeps the heard sentences as the model wrote them', async () => {
    harness.fake.llm = () => ({ tokens: tokens('[joy] Once upon a time there was a sea. It was wide. It was deep. '.repeat(6)), delayMs: 15 });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    const before = harness.fake.chatRequests().length;
    client.send({ type: 'text-input', text: 'A story', images: [] });
    const first = await client.next('audio');
    expect((first.display_text as { text: string }).text).toBe('Once upon a time there was a sea. ');
    client.send({ type: 'interrupt-signal', text: 'Once upon a time there was a sea.' });
    await client.roundTrip(); // the interrupt is handled before what follows
    harness.fake.llm = () => ({ tokens: tokens('Ok.') });
    client.send({ type: 'text-input', text: 'Go on', images: [] });
    await client.next('backend-synth-complete');
    expect(harness.fake.chatRequests()[before + 1]!.body.messages.slice(1, 3)).toEqual([
      { role: 'user', content: 'A story' },
      { role: 'assistant', content: '[joy] Once upon a time there was a sea....' },
    ]);
    await client.close();
  });
});

describe('show_emotion_tags: true keeps the tags in the chat', () => {
  const harness = useFakeEngineServer({ conf: { 'system_config.show_emotion_tags': true } });

  test('display_text as the model wrote it, expressions as well', async () => {
    harness.fake.llm = () => ({ tokens: tokens('[joy] Hello there!') });
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    client.send({ type: 'text-input', text: 'Hi!', images: [] });
    const audio = await client.next('audio');
    expect(audio.display_text).toMatchObject({ text: '[joy] Hello there!' });
    expect(audio.actions).toEqual({ expressions: [3] });
    await client.close();
  });
});
