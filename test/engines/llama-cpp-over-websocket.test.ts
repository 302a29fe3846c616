import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InspectionEvent } from 'xstate';
import { useFakeEngineServer } from '../helpers/server-harness.js';
import { childPids } from '../helpers/process-probes.js';
import { truncateFile, writeCorruptGguf, writeTinyGguf } from '../helpers/tiny-gguf.js';
import { TestClient, until } from '../helpers/ws-client.js';
import { recordingLogger } from '../helpers/recording-logger.js';

/**
 * llama_cpp_llm end to end: a real GGUF (tiny, random weights, written by the test) run by real llama.cpp in the
 * server's model process, its text cut into sentences and spoken by the fake AI server's voice, over a real socket.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-gguf-'));
const modelFile = path.join(dir, 'tiny.gguf');
const log = recordingLogger();

/** Model processes of the server (children of this process running the model program). */
const modelProcesses = () =>
  childPids().filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('model-process.mjs');
    } catch {
      return false;
    }
  });

const llamaBlock = (file: string, extra: Record<string, unknown> = {}) => ({
  model_path: file,
  context_size: 1024,
  threads: 1,
  gpu_layers: 0,
  parallel: 2,
  keep_alive: -1,
  max_tokens: 60,
  seed: 42,
  ...extra,
});

const character = (name: string, block: Record<string, unknown>) =>
  `character_config:\n  conf_name: '${name}'\n  conf_uid: '${name}'\n  agent_config:\n    agent_settings:\n      basic_memory_agent:\n        llm_provider: 'llama_cpp_llm'\n    llm_configs:\n      llama_cpp_llm: ${JSON.stringify(block)}\n`;

describe('llama_cpp_llm: a GGUF model run by the server itself', () => {
  const events: InspectionEvent[] = [];
  beforeAll(async () => {
    await writeTinyGguf(modelFile, { seed: 7 });
    await writeCorruptGguf(path.join(dir, 'corrupt.gguf'));
    await truncateFile(modelFile, path.join(dir, 'truncated.gguf'), 0.6);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const harness = useFakeEngineServer({
    conf: {
      'character_config.agent_config.agent_settings.basic_memory_agent.llm_provider': 'llama_cpp_llm',
      'character_config.agent_config.llm_configs.llama_cpp_llm': llamaBlock(modelFile),
    },
    prepare: (fixture) => {
      fixture.write('characters/corrupt.yaml', character('corrupt', llamaBlock(path.join(dir, 'corrupt.gguf'))));
      fixture.write('characters/truncated.yaml', character('truncated', llamaBlock(path.join(dir, 'truncated.gguf'))));
      fixture.write('characters/missing.yaml', character('missing', llamaBlock(path.join(dir, 'missing.gguf'))));
      fixture.write('characters/short-lived.yaml', character('short_lived', llamaBlock(modelFile, { keep_alive: 0, parallel: 1 })));
      fixture.write('characters/long.yaml', character('long', llamaBlock(modelFile, { max_tokens: 30_000, context_size: 4096, parallel: 1 })));
    },
    start: { logger: log.logger, inspect: (ev) => events.push(ev) },
  });

  async function connected(file?: string) {
    const client = await TestClient.connect(harness.server.wsUrl);
    await client.ready();
    if (file) {
      client.send({ type: 'switch-config', file });
      await client.next('config-switched', 1, 10_000);
    }
    client.frames.length = 0;
    return client;
  }

  test('a text turn: the model writes, the reply is cut into sentences, each spoken; the model stays loaded', async () => {
    const client = await connected();
    client.send({ type: 'text-input', text: 'Hello!', images: [] });
    await client.next('backend-synth-complete', 1, 60_000);
    const audio = client.ofType('audio');
    expect(audio.length).toBeGreaterThanOrEqual(1);
    const said = audio.map((f) => (f.display_text as { text: string }).text).join('');
    expect(said.trim().length).toBeGreaterThan(0);
    expect(said).toMatch(/^[\x20-\x7e]+$/); // the tiny vocabulary: printable ASCII
    // Every sentence went to the voice.
    expect(harness.fake.speechRequests().length).toBeGreaterThanOrEqual(audio.length);
    expect(client.ofType('error')).toEqual([]);
    expect(modelProcesses()).toHaveLength(1);
    await client.close();
  }, 90_000);

  test('two sessions at once share one loaded model, each in its own sequence', async () => {
    const [a, b] = await Promise.all([connected(), connected()]);
    a.send({ type: 'text-input', text: 'Tell me a story.', images: [] });
    b.send({ type: 'text-input', text: 'What is your name?', images: [] });
    await Promise.all([a.next('backend-synth-complete', 1, 60_000), b.next('backend-synth-complete', 1, 60_000)]);
    expect(a.ofType('audio').length).toBeGreaterThan(0);
    expect(b.ofType('audio').length).toBeGreaterThan(0);
    expect(harness.server.census.byKind().modelProcess).toBe(1);
    expect(modelProcesses()).toHaveLength(1);
    await Promise.all([a.close(), b.close()]);
  }, 90_000);

  test('an interrupt stops the decoding: no token is decoded after the step that was running', async () => {
    const client = await connected('long.yaml');
    client.send({ type: 'text-input', text: 'Talk for a long time.', images: [] });
    await client.next('audio', 1, 60_000);
    const from = log.lines.length;
    client.send({ type: 'interrupt-signal', text: '' });
    const [, total, after] = await log.line(/llama_cpp_llm: reply \d+ stopped by its turn after (\d+) tokens \((\d+) decoded after the stop reached the model\)/, 30_000, from);
    expect(Number(total)).toBeLessThan(30_000);
    expect(Number(after)).toBeLessThanOrEqual(1);
    // The sequence is free again: the next turn of this one-sequence model is answered.
    client.frames.length = 0;
    client.send({ type: 'text-input', text: 'Hi again.', images: [] });
    await client.next('audio', 1, 60_000);
    client.send({ type: 'interrupt-signal', text: '' });
    await client.close();
  }, 120_000);

  test.each([
    ['corrupt.yaml', /corrupt\.gguf could not be loaded \(Invalid GGUF magic/],
    ['truncated.yaml', /truncated\.gguf could not be loaded \(.+\); the file is damaged, cut short or not a GGUF model/],
    ['missing.yaml', /model_path names .*missing\.gguf, which does not exist/],
  ])('%s: one coded error frame naming the file, and the session goes on', async (file, message) => {
    const client = await connected(file);
    client.send({ type: 'text-input', text: 'Hello?', images: [] });
    const error = await client.next('error', 1, 60_000);
    expect(error.code).toBe('model_load');
    expect(error.message).toMatch(message);
    await client.next('control', 2, 10_000); // the chain ends
    expect(client.ofType('error')).toHaveLength(1);
    client.frames.length = 0;
    client.send({ type: 'fetch-configs' });
    await client.next('config-files', 1, 10_000);
    await client.close();
  }, 90_000);

  test('keep_alive 0: the model is unloaded after the reply and loaded again for the next one', async () => {
    const client = await connected('short-lived.yaml');
    const before = modelProcesses();
    const loads = () => events.filter((e) => e.type === '@xstate.actor' && (e.actorRef as { src?: string }).src === 'modelProcess').length;
    const loadsBefore = loads();
    for (let turn = 0; turn < 2; turn++) {
      client.frames.length = 0;
      client.send({ type: 'text-input', text: 'Hello!', images: [] });
      await client.next('backend-synth-complete', 1, 60_000);
      client.send({ type: 'frontend-playback-complete' });
      await client.next('control', 2, 10_000);
    }
    expect(loads() - loadsBefore).toBe(2);
    // The short-lived model's process is gone again; the other model's stays.
    await until('the short-lived model process ended', () => modelProcesses().length === before.length);
    expect(modelProcesses()).toEqual(before);
    await client.close();
  }, 120_000);
});
