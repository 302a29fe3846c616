/**
 * Writes a tiny but real GGUF (v3, little-endian, all-F32) `llama` model that llama.cpp loads and samples from.
 * The weights are random (seeded mulberry32), so the "text" is gibberish made of the printable one-character tokens,
 * with spaces and sentence ends often enough to split it into sentences and EOS/control/byte tokens very unlikely.
 *
 * Layout checked against llama.cpp's `ggml/src/gguf.cpp` and `src/models/llama.cpp` (the copy node-llama-cpp 3.21.1
 * bundles in `node_modules/node-llama-cpp/llama/gitRelease.bundle`). A tensor's `ne[0]` is its fastest (contiguous)
 * dimension, so a weight `W: in → out` is stored as ne = [in, out], row `o` holding its `in` values.
 */
import { open, readFile, stat, writeFile } from 'node:fs/promises';

export interface TinyGgufOptions {
  seed?: number;
  /** Transformer blocks (llama.block_count). Default 2. */
  layers?: number;
  /** llama.embedding_length, a multiple of 4 (4 heads). Default 64. */
  embedding?: number;
  /** llama.context_length. Default 512. */
  contextLength?: number;
  /** 'rare' (default): EOS is practically never sampled. 'likely': EOS gets a strong boost, so replies end after a few tokens. */
  eos?: 'rare' | 'likely';
}

export interface TinyGguf {
  file: string;
  bytes: number;
  /** File offset where the tensor data section starts (header + metadata + tensor infos come before it). */
  dataOffset: number;
}

const HEADS = 4;
const ALIGNMENT = 32;
/** '▁' (U+2581) is SentencePiece's space; llama.cpp's SPM tokenizer maps ' ' to it and back. */
const SPACE = '\u2581';
const SENTENCE_ENDS = ['.', '!', '?'];
const CHARS = [
  SPACE,
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789',
  ...SENTENCE_ENDS,
  ...",'-:;()",
];

/** Token types (llama.cpp `llama_token_type`). */
const NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;

/**
 * Ids 0..4 are special; the 256 `<0xXX>` byte tokens are SPM's byte fallback (llama.cpp's SPM tokenizer throws on a
 * character it cannot map, e.g. the template's '\n', when they are missing); then the printable characters.
 */
export const TINY_VOCAB: ReadonlyArray<{ text: string; type: number }> = [
  { text: '<unk>', type: UNKNOWN },
  { text: '<s>', type: CONTROL },
  { text: '</s>', type: CONTROL },
  { text: '<|im_start|>', type: CONTROL },
  { text: '<|im_end|>', type: CONTROL },
  ...Array.from({ length: 256 }, (_, b) => ({ text: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, type: BYTE })),
  ...CHARS.map((text) => ({ text, type: NORMAL })),
];
const BOS = 1, EOS = 2;

/** ChatML, so node-llama-cpp resolves its chat wrapper from the file's own `tokenizer.chat_template`. */
export const TINY_CHAT_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Output-layer bias per token, multiplied by the constant channel (see writeTinyGguf). */
function tokenBias(text: string, type: number, id: number, eos: 'rare' | 'likely'): number {
  if (id === EOS && eos === 'likely') return 0.4;
  if (type !== NORMAL) return -4;
  if (text === SPACE) return 0.5;
  if (SENTENCE_ENDS.includes(text)) return 0.25;
  return 0;
}

// GGUF value types
const T_UINT32 = 4, T_INT32 = 5, T_FLOAT32 = 6, T_BOOL = 7, T_STRING = 8, T_ARRAY = 9;
type Value =
  | { type: typeof T_UINT32 | typeof T_INT32 | typeof T_FLOAT32; value: number }
  | { type: typeof T_BOOL; value: boolean }
  | { type: typeof T_STRING; value: string }
  | { type: typeof T_ARRAY; of: typeof T_INT32 | typeof T_FLOAT32 | typeof T_STRING; values: Array<number | string> };

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
/** gguf_string: u64 byte length, then UTF-8 bytes (no terminator). */
const str = (s: string) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([u64(b.length), b]); };

function scalar(type: number, v: number | string | boolean): Buffer {
  const b = Buffer.alloc(4);
  if (type === T_UINT32) b.writeUInt32LE(v as number);
  else if (type === T_INT32) b.writeInt32LE(v as number);
  else if (type === T_FLOAT32) b.writeFloatLE(v as number);
  else if (type === T_BOOL) return Buffer.from([v ? 1 : 0]);
  else return str(v as string);
  return b;
}

/** key (gguf_string), value type (u32), value; an array is: element type (u32), count (u64), elements. */
function kv(key: string, v: Value): Buffer {
  if (v.type === T_ARRAY) {
    return Buffer.concat([str(key), u32(T_ARRAY), u32(v.of), u64(v.values.length), ...v.values.map((x) => scalar(v.of, x))]);
  }
  return Buffer.concat([str(key), u32(v.type), scalar(v.type, v.value)]);
}

const pad = (n: number) => Math.ceil(n / ALIGNMENT) * ALIGNMENT;

/** Writes the model; the same options (seed included) give the same bytes. */
export async function writeTinyGguf(file: string, options: TinyGgufOptions = {}): Promise<TinyGguf> {
  const { seed = 1, layers = 2, embedding: E = 64, contextLength = 512, eos = 'rare' } = options;
  if (E % HEADS !== 0 || E < 8) throw new Error(`embedding must be a multiple of ${HEADS} and >= 8`);
  const V = TINY_VOCAB.length, FF = 2 * E, headDim = E / HEADS;
  const rand = mulberry32(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

  // Dimension 0 of the residual stream is a constant channel: every token embedding has 4 there and no block writes to
  // it (row 0 of attn_output / ffn_down is zero), so after output_norm it is a steady positive value and column 0 of
  // output.weight acts as a per-token logit bias (llama has no output bias tensor).
  const tensors: Array<{ name: string; ne: number[]; data: Float32Array }> = [];
  const add = (name: string, ne: number[], fill: (row: number, col: number) => number) => {
    const data = new Float32Array(ne.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = fill(Math.floor(i / ne[0]), i % ne[0]);
    tensors.push({ name, ne, data });
  };
  const ones = () => 1;
  const randn = (fanIn: number, gain = 1) => () => gauss() * gain / Math.sqrt(fanIn);
  const noWrite0 = (inner: (row: number, col: number) => number) => (row: number, col: number) => (row === 0 ? 0 : inner(row, col));

  add('token_embd.weight', [E, V], (_tok, col) => (col === 0 ? 4 : gauss() * 0.5));
  for (let l = 0; l < layers; l++) {
    add(`blk.${l}.attn_norm.weight`, [E], ones);
    for (const w of ['attn_q', 'attn_k', 'attn_v']) add(`blk.${l}.${w}.weight`, [E, E], randn(E, 1.5));
    add(`blk.${l}.attn_output.weight`, [E, E], noWrite0(randn(E, 0.2)));
    add(`blk.${l}.ffn_norm.weight`, [E], ones);
    add(`blk.${l}.ffn_gate.weight`, [E, FF], randn(E));
    add(`blk.${l}.ffn_up.weight`, [E, FF], randn(E));
    add(`blk.${l}.ffn_down.weight`, [FF, E], noWrite0(randn(FF, 0.2)));
  }
  add('output_norm.weight', [E], ones);
  add('output.weight', [E, V], (tok, col) => {
    const t = TINY_VOCAB[tok]!;
    const noise = gauss() * 0.15; // drawn for every cell, so `eos` changes nothing but the EOS bias
    if (col === 0) return tokenBias(t.text, t.type, tok, eos);
    // space, sentence ends and special tokens get no noise: their odds stay the same whatever the seed
    return t.type !== NORMAL || t.text === SPACE || SENTENCE_ENDS.includes(t.text) ? 0 : noise;
  });

  const u = (value: number): Value => ({ type: T_UINT32, value });
  const metadata: Array<[string, Value]> = [
    ['general.architecture', { type: T_STRING, value: 'llama' }],
    ['general.name', { type: T_STRING, value: 'tiny-gguf' }],
    ['general.alignment', u(ALIGNMENT)],
    ['general.file_type', u(0)], // LLAMA_FTYPE_ALL_F32
    ['llama.context_length', u(contextLength)],
    ['llama.embedding_length', u(E)],
    ['llama.block_count', u(layers)],
    ['llama.feed_forward_length', u(FF)],
    ['llama.attention.head_count', u(HEADS)],
    ['llama.attention.head_count_kv', u(HEADS)],
    ['llama.attention.layer_norm_rms_epsilon', { type: T_FLOAT32, value: 1e-5 }],
    ['llama.rope.dimension_count', u(headDim)], // llama.cpp requires n_rot == head size for `llama`
    ['llama.rope.freq_base', { type: T_FLOAT32, value: 10000 }],
    ['llama.vocab_size', u(V)],
    ['tokenizer.ggml.model', { type: T_STRING, value: 'llama' }], // SentencePiece (SPM)
    ['tokenizer.ggml.tokens', { type: T_ARRAY, of: T_STRING, values: TINY_VOCAB.map((t) => t.text) }],
    ['tokenizer.ggml.scores', { type: T_ARRAY, of: T_FLOAT32, values: TINY_VOCAB.map((_, i) => -i) }],
    ['tokenizer.ggml.token_type', { type: T_ARRAY, of: T_INT32, values: TINY_VOCAB.map((t) => t.type) }],
    ['tokenizer.ggml.bos_token_id', u(BOS)],
    ['tokenizer.ggml.eos_token_id', u(EOS)],
    ['tokenizer.ggml.unknown_token_id', u(0)],
    ['tokenizer.ggml.add_bos_token', { type: T_BOOL, value: true }],
    ['tokenizer.ggml.add_eos_token', { type: T_BOOL, value: false }],
    ['tokenizer.chat_template', { type: T_STRING, value: TINY_CHAT_TEMPLATE }],
  ];

  // Tensor infos: name, n_dims (u32), ne[] (u64 each), ggml type (u32, 0 = F32), offset (u64) into the data section.
  // Offsets must be exactly the running sum of the tensors' sizes, each padded to the alignment.
  let offset = 0;
  const infos = tensors.map(({ name, ne, data }) => {
    const info = Buffer.concat([str(name), u32(ne.length), ...ne.map(u64), u32(0), u64(offset)]);
    offset += pad(data.byteLength);
    return info;
  });
  const header = Buffer.concat([
    Buffer.from('GGUF', 'latin1'), u32(3), u64(tensors.length), u64(metadata.length),
    ...metadata.map(([k, v]) => kv(k, v)), ...infos,
  ]);
  const dataOffset = pad(header.length);
  const out = Buffer.alloc(dataOffset + offset); // zero-filled, which is also the padding
  header.copy(out, 0);
  let at = dataOffset;
  for (const { data } of tensors) {
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, at);
    at += pad(data.byteLength);
  }
  await writeFile(file, out);
  return { file, bytes: out.length, dataOffset };
}

/** A tiny model whose magic is 'GGUX' instead of 'GGUF': llama.cpp refuses it before reading anything else. */
export async function writeCorruptGguf(file: string, options: TinyGgufOptions = {}): Promise<TinyGguf> {
  const written = await writeTinyGguf(file, options);
  const fh = await open(file, 'r+');
  try {
    await fh.write(Buffer.from('X', 'latin1'), 0, 1, 3);
  } finally {
    await fh.close();
  }
  return written;
}

/** Copies the first `fraction` of `src` to `dst` (0.6 of a tiny model cuts inside the tensor data). */
export async function truncateFile(src: string, dst: string, fraction = 0.6): Promise<{ file: string; bytes: number }> {
  const size = (await stat(src)).size;
  const bytes = Math.floor(size * fraction);
  await writeFile(dst, (await readFile(src)).subarray(0, bytes));
  return { file: dst, bytes };
}
