/**
 * The fake OpenAI-compatible LLM/TTS server of the tests, as its own process for the benchmarks (so its timers are
 * not delayed by the load on the server under test). Prints its base URL on stdout.
 *   FAKE_TOKEN_DELAY_MS   delay before each streamed token
 *   FAKE_TTS_DELAY_MS     delay before each synthesis answer
 *   FAKE_ECHO=1           the reply names the user's last message ("Answer to <text>. …"), so a client can tell replies apart
 *   FAKE_REPLY            the reply to stream (words with their spaces are the tokens)
 *   FAKE_LONG_MARK        a user message containing it gets a long reply (8 long sentences)
 *   FAKE_MS_PER_CHAR      ms of audio per character spoken (default 5)
 */
import { startFakeAiServer, tokens } from '../test/fakes/fake-ai-server.js';

const tokenDelay = Number(process.env.FAKE_TOKEN_DELAY_MS ?? 10);
const ttsDelay = Number(process.env.FAKE_TTS_DELAY_MS ?? 20);
const fake = await startFakeAiServer();
const echo = process.env.FAKE_ECHO === '1';
const longMark = process.env.FAKE_LONG_MARK;
const longReply = Array.from({ length: 8 }, (_, i) => `Sentence ${i + 1} of a long story goes on ${'and on '.repeat(26)}until it ends.`).join(' ');
fake.llm = (body: { messages: Array<{ content: unknown }> }) => {
  const last = String(body.messages.at(-1)?.content);
  if (longMark && last.includes(longMark)) return { tokens: tokens(longReply) };
  return {
    tokens: tokens(echo ? `Answer to ${last}. I hope you are well.` : (process.env.FAKE_REPLY ?? 'Hello there! How are you today? I hope you are well.')),
    delayMs: tokenDelay,
  };
};
fake.tts = { msPerChar: Number(process.env.FAKE_MS_PER_CHAR ?? 5), delayMs: ttsDelay, sampleRate: 16000 };
// Keep only the last requests: a benchmark makes many thousands.
setInterval(() => fake.requests.splice(0, Math.max(0, fake.requests.length - 100)), 1000).unref();
process.stdout.write(`${fake.baseUrl}\n`);
process.on('SIGTERM', () => void fake.close().then(() => process.exit(0)));
