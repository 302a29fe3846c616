/**
 * The program of a model process: `node <this, as an .mjs file> <node-llama-cpp entry URL> <spec JSON>`, with an IPC
 * channel to the server. One process holds one loaded GGUF model (llama.cpp through node-llama-cpp) and decodes
 * the replies the server sends it, each in the sequence the server leased to that reply. It is a process, not a
 * thread, because llama.cpp ends the whole process on some damaged files (a failed assertion): then only this
 * process ends, and the turn hears why. The text is kept as a string so the same code runs from dist/ and under jest
 * (which cannot import an ES module such as node-llama-cpp).
 *
 * Messages in:  { type: 'generate', id, slot, job } | { type: 'embed', id, texts } | { type: 'abort', id }
 * Messages out: { type: 'ready', description } | { type: 'failed', message } | { type: 'log', level, message }
 *             | { type: 'text', id, text } | { type: 'done', id, stopReason, tokens, afterAbort } | { type: 'error', id, message }
 *             | { type: 'embedded', id, vectors }
 *
 * A spec with `embedding` loads the model for embeddings (an embedding context, no sequences): it answers `embed`
 * (one vector per text, the texts one after another, an abort heard between two), and `generate` with an error.
 *
 * An abort is handled between two decode steps (the decoding itself runs on llama.cpp's threads, so this process's
 * event loop is free to receive it): no token is decoded for that reply after the step that was running, and
 * `afterAbort` in its `done` says how many were (0 or 1).
 */
export const LLAMA_PROCESS_SOURCE = String.raw`
const [entry, specJson] = process.argv.slice(2);
const spec = JSON.parse(specJson);
const send = (message) => { if (process.connected) process.send(message); };
// The server is gone: so is the reason to hold the model.
process.on('disconnect', () => process.exit(0));

const lib = await import(entry);
let context;
let embedding;
let sequences = [];
const chats = [];
const running = new Map();
try {
  const llama = await lib.getLlama({
    build: 'never',
    gpu: spec.gpuLayers === 0 ? false : 'auto',
    logLevel: spec.verbose ? 'info' : 'error',
    logger: (level, message) => send({ type: 'log', level: String(level), message: String(message).trimEnd() }),
    progressLogs: false,
    maxThreads: spec.threads,
  });
  const model = await llama.loadModel({ modelPath: spec.file, gpuLayers: spec.gpuLayers });
  const where = llama.gpu ? llama.gpu + ', ' + model.gpuLayers + ' layers on the GPU' : 'CPU';
  const threads = spec.threads + ' thread' + (spec.threads === 1 ? '' : 's');
  if (spec.embedding) {
    embedding = await model.createEmbeddingContext({ contextSize: spec.contextSize, threads: spec.threads });
    send({ type: 'ready', description: where + ', ' + threads + ', embeddings of up to ' + spec.contextSize + ' tokens' });
  } else {
    context = await model.createContext({ contextSize: spec.contextSize, sequences: spec.sequences, threads: spec.threads });
    for (let i = 0; i < spec.sequences; i++) sequences.push(context.getSequence());
    send({ type: 'ready', description: where + ', ' + threads + ', ' + context.contextSize + ' tokens per reply' });
  }
} catch (err) {
  send({ type: 'failed', message: String((err && err.message) || err) });
  process.disconnect();
}

// Replies in one sequence run one after another: a reply given back by an interrupted turn may still be finishing
// its last decode step when the next turn's reply for that sequence arrives.
const slots = [];
async function generate({ id, slot, job }, controller) {
  let tokens = 0;
  let atAbort;
  controller.signal.addEventListener('abort', () => { atAbort = tokens; }, { once: true });
  try {
    if (controller.signal.aborted) return void send({ type: 'done', id, stopReason: 'abort', tokens: 0, afterAbort: 0 });
    // One chat per sequence: it keeps the sequence's evaluated prefix, so a reply that starts with the same system
    // prompt and history as the last one in that sequence does not evaluate them again.
    chats[slot] ??= new lib.LlamaChat({ contextSequence: sequences[slot] });
    const result = await chats[slot].generateResponse(job.history, {
      signal: controller.signal,
      stopOnAbortSignal: true,
      maxTokens: job.maxTokens,
      temperature: job.temperature,
      ...(job.seed === undefined ? {} : { seed: job.seed }),
      onToken: (t) => { tokens += t.length; },
      onTextChunk: (text) => { if (!controller.signal.aborted) send({ type: 'text', id, text }); },
    });
    const aborted = controller.signal.aborted;
    send({ type: 'done', id, stopReason: aborted ? 'abort' : result.metadata.stopReason, tokens, afterAbort: aborted ? tokens - atAbort : 0 });
  } catch (err) {
    send({ type: 'error', id, message: String((err && err.message) || err) });
  } finally {
    running.delete(id);
  }
}

// Texts to vectors, one after another (llama.cpp's threads do the work; this event loop hears an abort between two).
// A text longer than the context is cut to what fits.
let embedQueue = Promise.resolve();
async function embed({ id, texts }, controller) {
  try {
    const vectors = [];
    for (const text of texts) {
      if (controller.signal.aborted) return void send({ type: 'error', id, message: 'aborted' });
      let tokens = embedding.model.tokenize(text);
      if (tokens.length > spec.contextSize) tokens = tokens.slice(0, spec.contextSize);
      vectors.push(Array.from((await embedding.getEmbeddingFor(tokens)).vector));
    }
    send({ type: 'embedded', id, vectors });
  } catch (err) {
    send({ type: 'error', id, message: String((err && err.message) || err) });
  } finally {
    running.delete(id);
  }
}

process.on('message', (message) => {
  if (message.type === 'abort') running.get(message.id)?.abort();
  else if (message.type === 'embed') {
    if (!embedding) return void send({ type: 'error', id: message.id, message: 'this model is not loaded for embeddings' });
    const controller = new AbortController();
    running.set(message.id, controller);
    // One request at a time: the embedding context evaluates one text at once.
    embedQueue = embedQueue.then(() => embed(message, controller));
  }
  else if (message.type === 'generate') {
    if (!context) return void send({ type: 'error', id: message.id, message: embedding ? 'this model is loaded for embeddings, not replies' : 'the model is not loaded' });
    const controller = new AbortController();
    running.set(message.id, controller);
    slots[message.slot] = (slots[message.slot] ?? Promise.resolve()).then(() => generate(message, controller));
  }
});
`;
