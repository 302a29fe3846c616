import type { ChatMessage } from '../../agent/chat-memory.js';

/**
 * A small rule-based talker in the spirit of ELIZA: greetings, questions about itself, reflection of what the user
 * says ("I feel tired" → "Why do you feel tired?"), and a memory of the user's name taken from the session's own
 * conversation. It is what answers when no LLM is configured, so that a fresh install holds a conversation.
 */

export interface ElizaPersona {
  name: string;
  emotionKeys: readonly string[];
}

const REFLECTIONS: Record<string, string> = {
  i: 'you',
  me: 'you',
  my: 'your',
  mine: 'yours',
  am: 'are',
  "i'm": "you're",
  "i've": "you've",
  "i'll": "you'll",
  myself: 'yourself',
  you: 'I',
  your: 'my',
  yours: 'mine',
  are: 'am',
  "you're": "I'm",
};

export function reflect(fragment: string): string {
  return fragment
    .trim()
    .replace(/[.!?]+$/, '')
    .split(/\s+/)
    .map((word) => REFLECTIONS[word.toLowerCase()] ?? word)
    .join(' ');
}

type Rule = { pattern: RegExp; replies: Array<(m: RegExpMatchArray, ctx: Context) => string> };
interface Context {
  persona: ElizaPersona;
  userName?: string;
  tag: (emotion: string) => string;
}

const RULES: Rule[] = [
  {
    pattern: /\b(?:my name is|call me|i am called)\s+([\p{L}'-]+)/iu,
    replies: [(m, c) => `${c.tag('joy')}Nice to meet you, ${m[1]}! I'm ${c.persona.name}. What would you like to talk about?`],
  },
  {
    pattern: /\bwhat(?:'s| is) my name\b/i,
    replies: [(_m, c) => (c.userName ? `${c.tag('joy')}You're ${c.userName}, of course!` : `${c.tag('surprise')}You haven't told me your name yet. What is it?`)],
  },
  {
    pattern: /\b(?:who|what) are you\b|\byour name\b|\babout yourself\b/i,
    replies: [
      (_m, c) =>
        `${c.tag('joy')}I'm ${c.persona.name}! Right now I'm running on a tiny offline brain, with no big language model behind me. Connect one in conf.yaml and I'll get a lot smarter. Until then, tell me about you!`,
    ],
  },
  { pattern: /\bhow are you\b|\bhow(?:'s| is) it going\b/i, replies: [(_m, c) => `${c.tag('joy')}I'm doing great, thanks for asking! How about you?`] },
  { pattern: /^\s*(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening)|yo)\b/i, replies: [(_m, c) => `${c.tag('joy')}Hi${c.userName ? ` ${c.userName}` : ''}! It's nice to see you. How are you today?`] },
  { pattern: /\b(?:bye|goodbye|see you|good night)\b/i, replies: [(_m, c) => `${c.tag('sadness')}Goodbye! Come back and chat with me soon.`] },
  { pattern: /\b(?:thanks|thank you)\b/i, replies: [(_m, c) => `${c.tag('joy')}You're very welcome!`] },
  { pattern: /\bsorry\b/i, replies: [() => 'No need to apologise. What is on your mind?'] },
  { pattern: /\bi (?:feel|am feeling)\s+(.+)/i, replies: [(m) => `Why do you feel ${reflect(m[1]!)}?`, (m) => `How long have you felt ${reflect(m[1]!)}?`] },
  { pattern: /\bi(?:'m| am)\s+(.+)/i, replies: [(m) => `How long have you been ${reflect(m[1]!)}?`, (m) => `Why do you say you are ${reflect(m[1]!)}?`] },
  { pattern: /\bi (?:want|need|would like)\s+(.+)/i, replies: [(m) => `What would it mean to you to get ${reflect(m[1]!)}?`] },
  { pattern: /\bi (?:think|believe)\s+(.+)/i, replies: [(m) => `What makes you think ${reflect(m[1]!)}?`] },
  { pattern: /\bbecause\b/i, replies: [() => 'Is that the real reason?', () => 'What else could explain it?'] },
  { pattern: /\b(?:quiet for a while|say something)\b/i, replies: [(_m, c) => `${c.tag('joy')}Hey${c.userName ? ` ${c.userName}` : ''}, still there? I was just thinking it would be fun to hear how your day is going.`] },
  { pattern: /\?\s*$/, replies: [() => "That's a good question. What do you think?", (_m, c) => `${c.tag('surprise')}Hmm, I'm not sure! What made you wonder about that?`] },
  { pattern: /^\s*(?:yes|yeah|yep|no|nope|nah)\b/i, replies: [() => 'You sound quite sure. Tell me more.'] },
];

const FALLBACKS = ['Tell me more about that.', 'I see. How does that make you feel?', 'Interesting! Please go on.', 'And what happened next?'];

function userNameFrom(memory: readonly ChatMessage[]): string | undefined {
  for (let i = memory.length - 1; i >= 0; i--) {
    const message = memory[i]!;
    if (message.role !== 'user') continue;
    const m = /\b(?:my name is|call me|i am called)\s+([\p{L}'-]+)/iu.exec(message.content);
    if (m) return m[1];
  }
  return undefined;
}

/** The reply to `text`, given what this session said before. Deterministic: variety comes from the turn count. */
export function elizaReply(text: string, memory: readonly ChatMessage[], persona: ElizaPersona): string {
  const keys = new Set(persona.emotionKeys.map((k) => k.toLowerCase()));
  const context: Context = {
    persona,
    userName: userNameFrom([...memory, { role: 'user', content: text }]),
    tag: (emotion) => (keys.has(emotion) ? `[${emotion}] ` : ''),
  };
  const turn = memory.filter((m) => m.role === 'user').length;
  if (!text.trim()) return 'I did not catch that. Could you say it again?';
  for (const rule of RULES) {
    const m = text.match(rule.pattern);
    if (m) return rule.replies[turn % rule.replies.length]!(m, context);
  }
  return FALLBACKS[turn % FALLBACKS.length]!;
}
