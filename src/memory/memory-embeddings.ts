import { z } from 'zod';
import { engineRequest } from '../engines/engine-http.js';

/**
 * `memory.embeddings`: an OpenAI-compatible `/embeddings` service (Ollama's `/v1`, llama.cpp's server, OpenAI…)
 * turns texts into vectors, so that recall finds what is meant as well as what is said ("sibling" → "my sister").
 * Vectors are normalised here, so that their dot product is their cosine.
 */

/** Texts → one unit vector each, in order; stopping it (its signal) aborts the request. */
export type Embed = (texts: string[], signal: AbortSignal) => Promise<Float32Array[]>;

export interface EmbeddingsSettings {
  base_url: string;
  model: string;
  api_key: string;
  timeout_ms: number;
}

const answerSchema = z.object({ data: z.array(z.object({ embedding: z.array(z.number()), index: z.number().int().optional() })) });

export function normalise(vector: readonly number[]): Float32Array {
  const out = Float32Array.from(vector);
  let norm = 0;
  for (const x of out) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < out.length; i++) out[i]! /= norm;
  return out;
}

export function createEmbed(settings: EmbeddingsSettings): Embed {
  const url = `${settings.base_url.replace(/\/+$/, '')}/embeddings`;
  return async (texts, signal) => {
    if (texts.length === 0) return [];
    const res = await engineRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(settings.api_key ? { authorization: `Bearer ${settings.api_key}` } : {}) },
      body: JSON.stringify({ model: settings.model, input: texts }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(settings.timeout_ms)]),
    });
    if (!res.ok) {
      const detail = (await res.text().catch(() => '')).slice(0, 200);
      throw new Error(`embeddings service answered ${res.status} ${res.statusText}${detail ? `: ${detail}` : ''}`);
    }
    const parsed = answerSchema.safeParse(await res.json());
    if (!parsed.success || parsed.data.data.length !== texts.length) throw new Error('embeddings service answered something other than one embedding per text');
    const ordered = [...parsed.data.data].sort((a, b) => (a.index ?? 0) - (b.index ?? 0));
    return ordered.map((d) => normalise(d.embedding));
  };
}
