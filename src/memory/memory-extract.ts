import { z } from 'zod';
import type { LlmEngine } from '../../machines/engine-contracts.js';
import type { DistilledFact } from './memory-facts.js';

/**
 * `memory.extract`: the configured model distils durable facts about the user from the latest exchange of a
 * conversation, after its chain ended (a job of the memory actor, never on the reply's path).
 */

/** Turns an exchange into facts; stopping it (its signal) aborts the model's request. */
export type Distil = (exchange: string, signal: AbortSignal) => Promise<DistilledFact[]>;

export const EXTRACT_PROMPT = [
  'You keep notes about the user for a companion character. From the conversation excerpt you are given, list the',
  'durable facts about the user worth remembering in later conversations: names of family, friends and pets, likes',
  'and dislikes, allergies, work, studies, places, plans, important dates. Not small talk, not what the assistant',
  'said about itself, nothing uncertain. Answer with JSON only, no other text:',
  '[{"subject": "<what the fact is about, e.g. user\'s sister\'s name>", "fact": "<one short sentence, e.g. The user\'s sister is called Ana.>"}]',
  'or [] when there is nothing durable.',
].join('\n');

const factsSchema = z.array(z.object({ subject: z.string().min(1).max(200), fact: z.string().min(1).max(400) })).max(20);

/** The facts in a model's answer: the JSON array in it (thinking removed); none if there is no valid one. */
export function parseFacts(text: string): DistilledFact[] {
  const answer = text.replace(/<think>[\s\S]*?<\/think>/g, '');
  const start = answer.indexOf('[');
  const end = answer.lastIndexOf(']');
  if (start < 0 || end <= start) return [];
  try {
    const parsed = factsSchema.safeParse(JSON.parse(answer.slice(start, end + 1)));
    return parsed.success ? parsed.data.slice(0, 10) : [];
  } catch {
    return [];
  }
}

/** Distils with `llm`: one request, no tools, the exchange as the user's message. */
export function createDistil(llm: LlmEngine): Distil {
  return async (exchange, signal) => {
    let text = '';
    await llm.stream({ system: EXTRACT_PROMPT, memory: [], userText: exchange, images: [] }, (t) => (text += t), signal);
    return parseFacts(text);
  };
}
