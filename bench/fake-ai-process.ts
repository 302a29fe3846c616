/**
 * The fake OpenAI-compatible LLM/TTS server of the tests, as its own process for the benchmarks (so its timers are
 * not delayed by the load on the server under test). Prints its base URL on stdout.
 *   FAKE_TOKEN_DELAY_MS   delay before each streamed token
 *   FAKE_TTS_DELAY_MS     delay before each synthesis answer
 *   FAKE_ECHO=1           the reply names the user's last message ("Answer to <text>. …"), so a client can tell replies apart
 *   FAKE_REPLY            the reply to stream (words with their spaces are the tokens); `{tag}` is the turn's tag
 *   FAKE_SENTENCE_TOKENS  tokens up to and including the one that completes the first sentence (default 3:
 *                         "Hello ", "there ", "q1! " of the tagged reply)
 *   FAKE_LONG_MARK        a user message containing it gets a long reply (8 long sentences)
 *   FAKE_MS_PER_CHAR      ms of audio per character spoken (default 5)
 *   FAKE_TAGGED=1         the user's message carries a tag (`q<digits>`) that the reply repeats in its first sentence;
 *                         the engine time of each tagged turn, measured here, is reported over IPC (see below)
 *
 * Engine time of a turn, by this process's own clock (performance.now()): the LLM's part runs from reading the
 * request to writing the token that completes the first sentence (its terminator and the space after it: the first
 * moment the server's sentence splitter can know the sentence is complete), the TTS part from reading the first
 * sentence's synthesis request to ending its response. `readMs` is what comes before those two clocks start: this
 * process reading and parsing the two request bodies, from the moment each request's headers arrived. Forked with an
 * IPC channel, the process answers `{ cmd: 'timings' }` with `Array<[tag, { llmMs, ttsMs, readMs }]>` for the turns
 * completed since the last ask.
 */
import { startFakeAiServer, tokens, type RecordedRequest } from '../test/fakes/fake-ai-server.js';

export interface EngineTiming {
  /** LLM request read → the token that completes the first sentence written. */
  llmMs: number;
  /** First sentence's synthesis request read → its response ended. */
  ttsMs: number;
  /** Both requests arrived (headers parsed) → read (body read and parsed), added up. */
  readMs: number;
}

const tokenDelay = Number(process.env.FAKE_TOKEN_DELAY_MS ?? 10);
const ttsDelay = Number(process.env.FAKE_TTS_DELAY_MS ?? 20);
const fake = await startFakeAiServer();
const echo = process.env.FAKE_ECHO === '1';
const longMark = process.env.FAKE_LONG_MARK;
const longReply = Array.from({ length: 8 }, (_, i) => `Sentence ${i + 1} of a long story goes on ${'and on '.repeat(26)}until it ends.`).join(' ');
const tagged = process.env.FAKE_TAGGED === '1';
const TAG = /\bq\d+\b/;
const sentenceTokens = Number(process.env.FAKE_SENTENCE_TOKENS ?? 3);

const lastUser = (body: { messages: Array<{ content: unknown }> }) => String(body.messages.at(-1)?.content ?? '');
fake.llm = (body: { messages: Array<{ content: unknown }> }) => {
  if (longMark && lastUser(body).includes(longMark)) return { tokens: tokens(longReply) };
  const tag = tagged ? (lastUser(body).match(TAG)?.[0] ?? '') : '';
  const reply = echo
    ? `Answer to ${lastUser(body)}. I hope you are well.`
    : process.env.FAKE_REPLY
      ? process.env.FAKE_REPLY.replaceAll('{tag}', tag)
      : tagged
        ? `Hello there ${tag}! How are you today? I hope you are well.`
        : 'Hello there! How are you today? I hope you are well.';
  return { tokens: tokens(reply), delayMs: tokenDelay };
};
fake.tts = { msPerChar: Number(process.env.FAKE_MS_PER_CHAR ?? 5), delayMs: ttsDelay, sampleRate: 16000 };

// The two parts of each tagged turn's engine time, by tag, until the benchmark asks for them.
const llmByTag = new Map<string, { ms: number; readMs: number }>();
const ttsByTag = new Map<string, { ms: number; readMs: number }>();
const done = new WeakSet<RecordedRequest>();
function collect(): void {
  for (const r of fake.requests) {
    if (done.has(r)) continue;
    if (r.path.endsWith('/chat/completions')) {
      const tag = lastUser(r.body).match(TAG)?.[0];
      // Tokens: "Hello ", "there ", "q1! ", "How " … the third completes the first sentence (by default).
      const second = r.timing.tokens[sentenceTokens - 1];
      if (tag && second !== undefined && !llmByTag.has(tag)) llmByTag.set(tag, { ms: second - r.timing.received, readMs: r.timing.received - r.timing.arrived });
      if (second !== undefined || r.timing.ended !== undefined || r.abortedAt !== undefined) done.add(r);
    } else if (r.path.endsWith('/audio/speech')) {
      if (r.timing.ended === undefined && r.abortedAt === undefined) continue;
      done.add(r);
      const tag = String(r.body.input ?? '').match(TAG)?.[0];
      if (tag && r.timing.ended !== undefined && !ttsByTag.has(tag)) ttsByTag.set(tag, { ms: r.timing.ended - r.timing.received, readMs: r.timing.received - r.timing.arrived });
    } else done.add(r);
  }
}

// Keep only the requests still in progress and the last 100: a benchmark makes many thousands (the finished ones
// are collected first, so no timing is lost).
setInterval(() => {
  collect();
  const all = fake.requests;
  const keep = all.filter((r, i) => !done.has(r) || i >= all.length - 100);
  all.splice(0, all.length, ...keep);
}, 200).unref();
process.on('message', (message: { cmd: string }) => {
  if (message.cmd !== 'timings') return;
  collect();
  const timings: Array<[string, EngineTiming]> = [];
  for (const [tag, llm] of llmByTag) {
    const tts = ttsByTag.get(tag);
    if (tts !== undefined) timings.push([tag, { llmMs: llm.ms, ttsMs: tts.ms, readMs: llm.readMs + tts.readMs }]);
  }
  process.send!(timings);
  llmByTag.clear();
  ttsByTag.clear();
});
process.stdout.write(`${fake.baseUrl}\n`);
process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
