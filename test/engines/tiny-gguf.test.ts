import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { TINY_CHAT_TEMPLATE, truncateFile, writeCorruptGguf, writeTinyGguf } from '../helpers/tiny-gguf.js';
import type { Llama, LlamaContext, LlamaModel } from 'node-llama-cpp';

type NodeLlamaCpp = typeof import('node-llama-cpp');

/**
 * node-llama-cpp is ESM-only (with top-level await, so not even Node's require(esm) loads it), and jest runs this file
 * as CommonJS inside a vm context: swc turns `await import()` into `require()`, and an `import()` compiled in jest's
 * sandbox (e.g. through `new Function`) throws ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG. A function compiled in the
 * main context with Node's own loader can import it (Node >= 20.12; Node prints one ExperimentalWarning). The module
 * then lives in the main realm, not jest's: its errors are not `instanceof` this file's `Error`.
 */
const importEsm = new vm.Script('(specifier) => import(specifier)', {
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
}).runInThisContext() as (specifier: string) => Promise<unknown>;

const PRINTABLE = /^[\x20-\x7e]+$/;

let lib: NodeLlamaCpp;
let llama: Llama;
let model: LlamaModel;
let context: LlamaContext;
let dir: string;
const logs: string[] = [];

beforeAll(async () => {
  // A file URL: a bare specifier would be resolved from the working directory, not from this file.
  lib = (await importEsm(pathToFileURL(require.resolve('node-llama-cpp')).href)) as NodeLlamaCpp;
  dir = await mkdtemp(path.join(os.tmpdir(), 'tiny-gguf-'));
  // llama.cpp's own log lines (e.g. why a load failed) come through `logger` instead of the console.
  llama = await lib.getLlama({ build: 'never', gpu: false, logger: (level, message) => logs.push(`${level}: ${message}`) });
  const { file } = await writeTinyGguf(path.join(dir, 'tiny.gguf'), { seed: 1 });
  model = await llama.loadModel({ modelPath: file });
  context = await model.createContext({ contextSize: 512, threads: 1 });
});

afterAll(async () => {
  // Disposal is started, not awaited: on a busy machine node-llama-cpp's dispose once outlasted jest's hook bound
  // (CI), and nothing here depends on it having finished (the worker's exit frees the rest).
  for (const resource of [context, model, llama]) void resource?.dispose().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh chat on the context's one sequence (a context has `sequences: 1` unless asked for more). */
async function freshSession() {
  const sequence = context.getSequence();
  return { session: new lib.LlamaChatSession({ contextSequence: sequence }), sequence };
}

test('the same options give the same bytes; another seed gives other weights', async () => {
  const a = await writeTinyGguf(path.join(dir, 'a.gguf'), { seed: 5 });
  const b = await writeTinyGguf(path.join(dir, 'b.gguf'), { seed: 5 });
  const c = await writeTinyGguf(path.join(dir, 'c.gguf'), { seed: 6 });
  expect(a.bytes).toBe(b.bytes);
  expect((await readFile(a.file)).equals(await readFile(b.file))).toBe(true);
  expect((await readFile(a.file)).equals(await readFile(c.file))).toBe(false);
  expect(a.bytes).toBeLessThan(1024 * 1024);
  expect(a.dataOffset % 32).toBe(0);
});

test('llama.cpp loads it with the metadata, vocabulary and chat template written', () => {
  const meta = model.fileInfo.metadata;
  expect(meta.general.architecture).toBe('llama');
  expect(meta.general.name).toBe('tiny-gguf');
  expect(model.trainContextSize).toBe(512);
  expect(meta.tokenizer.chat_template).toBe(TINY_CHAT_TEMPLATE);
  expect(model.tokens.bosString).toBe('<s>');
  expect(model.tokens.eosString).toBe('</s>');
  expect(model.detokenize(model.tokenize('Hi there.'))).toBe('Hi there.');
});

test("the chat wrapper is resolved from the file's own template", async () => {
  const { session, sequence } = await freshSession();
  // The ChatML template is recognised as equivalent to node-llama-cpp's specialised ChatML wrapper.
  expect(session.chatWrapper).toBeInstanceOf(lib.ChatMLChatWrapper);
  expect(session.chatWrapper.wrapperName).toBe('ChatML');
  session.dispose();
  sequence.dispose();

  // Without the template, the same model would get another wrapper.
  const { chat_template: _template, ...tokenizer } = model.fileInfo.metadata.tokenizer;
  const fileInfo = { ...model.fileInfo, metadata: { ...model.fileInfo.metadata, tokenizer } };
  const fallback = lib.resolveChatWrapper({ fileInfo, tokenizer: model.tokenizer, bosString: model.tokens.bosString });
  expect(fallback).not.toBeInstanceOf(lib.ChatMLChatWrapper);
});

test('generates printable text with sentence ends, reproducibly for a seed, and reports its speed', async () => {
  const reply = async (seed: number) => {
    const { session, sequence } = await freshSession();
    const times: number[] = [];
    const result = await session.promptWithMeta('Hello there, how are you?', {
      maxTokens: 100, temperature: 0.8, seed, onToken: (tokens) => tokens.forEach(() => times.push(performance.now())),
    });
    session.dispose();
    sequence.dispose();
    return { text: result.responseText, stopReason: result.stopReason, times };
  };
  const first = await reply(7);
  expect(first.stopReason).toBe('maxTokens'); // EOS is practically never sampled
  expect(first.text).toMatch(PRINTABLE);
  expect(first.text.trim().length).toBeGreaterThan(50);
  expect(first.text.match(/[.!?]/g)?.length ?? 0).toBeGreaterThanOrEqual(2);
  expect((await reply(7)).text).toBe(first.text);
  expect((await reply(8)).text).not.toBe(first.text);

  // Decode speed: tokens after the first one, over the time since the first one (prompt evaluation excluded).
  const decoded = first.times.length - 1;
  const tokensPerSecond = decoded / ((first.times.at(-1)! - first.times[0]!) / 1000);
  expect(decoded).toBeGreaterThan(50);
  expect(tokensPerSecond).toBeGreaterThan(50);
});

test('an aborted prompt stops early: with stopOnAbortSignal it resolves, without it rejects', async () => {
  const run = async (stopOnAbortSignal: boolean) => {
    const { session, sequence } = await freshSession();
    const controller = new AbortController();
    let tokens = 0;
    const onToken = () => { if (++tokens === 5) controller.abort(new Error('barge-in')); };
    try {
      return await session.promptWithMeta('Tell me a story.', {
        maxTokens: 100, temperature: 0.8, seed: 3, signal: controller.signal, stopOnAbortSignal, onToken,
      });
    } finally {
      session.dispose();
      sequence.dispose();
    }
  };
  const stopped = await run(true);
  expect(stopped.stopReason).toBe('abort');
  expect(stopped.responseText.length).toBeLessThan(20);
  await expect(run(false)).rejects.toThrow('barge-in');
});

test("with eos: 'likely' most replies end on EOS after a few tokens", async () => {
  const { file } = await writeTinyGguf(path.join(dir, 'eos.gguf'), { seed: 1, eos: 'likely' });
  const eosModel = await llama.loadModel({ modelPath: file });
  const eosContext = await eosModel.createContext({ contextSize: 512, threads: 1 });
  try {
    const reasons: string[] = [];
    for (let seed = 0; seed < 5; seed++) {
      const sequence = eosContext.getSequence();
      const session = new lib.LlamaChatSession({ contextSequence: sequence });
      reasons.push((await session.promptWithMeta('Hi!', { maxTokens: 100, temperature: 0.8, seed })).stopReason);
      session.dispose();
      sequence.dispose();
    }
    expect(reasons.filter((r) => r === 'eogToken').length).toBeGreaterThanOrEqual(4);
  } finally {
    await eosContext.dispose();
    await eosModel.dispose();
  }
});

test('a bad magic and a truncated file are rejected with an error, without crashing the process', async () => {
  const bad = await writeCorruptGguf(path.join(dir, 'bad-magic.gguf'));
  await expect(llama.loadModel({ modelPath: bad.file })).rejects.toThrow(/Invalid GGUF magic/);

  const whole = await writeTinyGguf(path.join(dir, 'whole.gguf'));
  const cut = await truncateFile(whole.file, path.join(dir, 'truncated.gguf'), 0.6);
  expect(cut.bytes).toBeGreaterThan(whole.dataOffset); // cut inside the tensor data, past the (intact) metadata
  logs.length = 0;
  await expect(llama.loadModel({ modelPath: cut.file })).rejects.toThrow(/Failed to load model/);
  // llama.cpp's log lines reach `logger` asynchronously, possibly after the rejection.
  for (let i = 0; i < 100 && !logs.some((l) => l.includes('not within the file bounds')); i++) await delay(20);
  expect(logs.join('\n')).toMatch(/tensor '.+' data is not within the file bounds/);

  // The process and the loaded model are still fine.
  const { session, sequence } = await freshSession();
  expect(await session.prompt('Still there?', { maxTokens: 10, temperature: 0.8, seed: 1 })).toMatch(PRINTABLE);
  session.dispose();
  sequence.dispose();
});
