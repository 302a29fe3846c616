import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryIndex } from '../../src/memory/memory-index.js';
import { parseFacts, type Distil } from '../../src/memory/memory-extract.js';
import type { DistilledFact } from '../../src/memory/memory-facts.js';

function history(dir: string, uid: string, messages: { role: string; content: string }[]) {
  const entries = [{ role: 'metadata', timestamp: '2026-11-01T10:00:00' }, ...messages.map((m, i) => ({ timestamp: `2026-11-0${1 + Math.min(i, 8)}T10:00:00`, ...m }))];
  writeFileSync(path.join(dir, `${uid}.json`), JSON.stringify(entries));
}

describe('memory.extract: what the character learns', () => {
  let root: string;
  let dir: string;
  let index: MemoryIndex;
  const asked: string[] = [];
  let answer: DistilledFact[] = [];
  const distil: Distil = async (exchange) => (asked.push(exchange), answer);
  const signal = new AbortController().signal;
  beforeEach(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'memory-extract-'));
    dir = path.join(root, 'mao');
    mkdirSync(dir);
    index = new MemoryIndex(root);
    asked.length = 0;
  });
  afterEach(() => {
    index.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('learns from what is new, each fact with its source, once per subject, updated when it changes', async () => {
    history(dir, 'h1', [{ role: 'human', content: "My sister's name is Ana." }, { role: 'ai', content: 'Lovely name!' }]);
    await index.reconcile('mao');
    answer = [{ subject: "user's sister's name", fact: "The user's sister is called Ana." }];
    await index.extract('mao', 'h1', distil, signal);
    expect(asked).toEqual(["User: My sister's name is Ana.\nAssistant: Lovely name!"]);
    expect(index.facts('mao')).toEqual([{ subject: 'user s sister s name', fact: "The user's sister is called Ana.", history_uid: 'h1', first_index: 1, last_index: 2, timestamp: '2026-11-02T10:00:00' }]);
    // Nothing new: the model is not asked; nor while the reply to the user's new words is not written yet.
    await index.extract('mao', 'h1', distil, signal);
    history(dir, 'h1', [{ role: 'human', content: "My sister's name is Ana." }, { role: 'ai', content: 'Lovely name!' }, { role: 'human', content: 'Actually she goes by Annie now.' }]);
    await index.sync('mao', 'h1');
    await index.extract('mao', 'h1', distil, signal);
    expect(asked).toHaveLength(1);
    history(dir, 'h1', [{ role: 'human', content: "My sister's name is Ana." }, { role: 'ai', content: 'Lovely name!' }, { role: 'human', content: 'Actually she goes by Annie now.' }, { role: 'ai', content: 'Annie it is.' }]);
    await index.sync('mao', 'h1');
    answer = [{ subject: "User's sister's name", fact: "The user's sister goes by Annie." }];
    await index.extract('mao', 'h1', distil, signal);
    expect(asked[1]).toBe('User: Actually she goes by Annie now.\nAssistant: Annie it is.');
    expect(index.facts('mao').map((f) => [f.fact, f.first_index, f.last_index])).toEqual([["The user's sister goes by Annie.", 3, 4]]);
    expect(index.searchFacts('mao', 'what is my sister called', 5).map((f) => f.fact)).toEqual(["The user's sister goes by Annie."]);
    expect(index.searchFacts('mao', 'sister', 5, 'h1')).toEqual([]);
  });

  it('a deleted or forgotten conversation takes what was learned from it along', async () => {
    history(dir, 'h1', [{ role: 'human', content: 'I am allergic to peanuts.' }, { role: 'ai', content: 'Noted.' }]);
    history(dir, 'h2', [{ role: 'human', content: 'I play the cello.' }, { role: 'ai', content: 'Lovely.' }]);
    await index.reconcile('mao');
    answer = [{ subject: 'allergy', fact: 'The user is allergic to peanuts.' }];
    await index.extract('mao', 'h1', distil, signal);
    answer = [{ subject: 'instrument', fact: 'The user plays the cello.' }];
    await index.extract('mao', 'h2', distil, signal);
    expect(index.facts('mao')).toHaveLength(2);
    index.forgetByUser('mao', 'h1');
    rmSync(path.join(dir, 'h2.json'));
    await index.sync('mao', 'h2');
    expect(index.facts('mao')).toEqual([]);
    history(dir, 'h3', [{ role: 'human', content: 'I love hiking.' }, { role: 'ai', content: 'Me too.' }]);
    await index.sync('mao', 'h3');
    answer = [{ subject: 'hobby', fact: 'The user loves hiking.' }];
    await index.extract('mao', 'h3', distil, signal);
    expect(index.forgetFact('mao', 'Hobby')).toBe(true);
    expect(index.facts('mao')).toEqual([]);
  });

  it('reads the facts out of what a model answers', () => {
    expect(parseFacts('<think>hmm [no]</think>Here: [{"subject":"pet","fact":"The user has a dog."}] done')).toEqual([{ subject: 'pet', fact: 'The user has a dog.' }]);
    expect(parseFacts('[]')).toEqual([]);
    expect(parseFacts('no idea')).toEqual([]);
    expect(parseFacts('[{"subject": 3}]')).toEqual([]);
  });
});
