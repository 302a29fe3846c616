import { createActor, toPromise } from 'xstate';
import type { RecallRequest } from '../../machines/turn-contract.js';
import type { MemoryHit } from '../../src/memory/memory-db.js';
import { createRecallMemories } from '../../src/memory/memory-actors.js';
import type { MemoryIndex } from '../../src/memory/memory-index.js';
import { matchQuery, recallText } from '../../src/memory/memory-query.js';
import { recordingLogger } from '../helpers/recording-logger.js';

const hit = (content: string, timestamp: string, role = 'human', name: string | null = null): MemoryHit => ({ history_uid: 'h', index: 1, role, name, content, timestamp, score: 1 });
const NAMES = { human: 'Human', ai: 'Mao' };

describe('what is recalled, as the prompt shows it', () => {
  test('the query: the words that say what the text is about, each quoted', () => {
    expect(matchQuery("What's my sister's name?")).toBe('"sister" OR "name"');
    expect(matchQuery('is it?')).toBe('');
    expect(matchQuery('Ana "OR" NEAR(x)')).toBe('"ana" OR "near"');
  });

  test('dated lines with who said them, oldest first, the most relevant chosen within the budget', () => {
    const hits = [hit("my sister's name is Ana", '2026-12-01T10:00:00'), hit('Ana is lovely', '2026-11-02T09:00:00', 'ai', 'Mao'), hit('x'.repeat(2000), '2026-10-01T00:00:00')];
    const text = recallText(hits, 1200, NAMES);
    expect(text.split('\n')).toEqual([
      'Things you remember from earlier conversations with the user (date, who said it):',
      '[2026-11-02] Mao: Ana is lovely',
      "[2026-12-01] Human: my sister's name is Ana",
    ]);
    expect(recallText(hits, 100, NAMES)).toBe('');
  });

  test('a recall that fails is one warning, and no memories', async () => {
    const log = recordingLogger();
    const index = { search: () => { throw new Error('database disk image is malformed'); } } as unknown as MemoryIndex;
    const recall = createRecallMemories(index, log.logger);
    const request: RecallRequest = { confUid: 'mao', historyUid: null, topK: 5, maxCharacters: 1200, deadlineMs: 200, names: NAMES, clientUid: 'c', query: 'sister' };
    for (let i = 0; i < 3; i++) expect(await toPromise(createActor(recall, { input: request }).start())).toBe('');
    expect(log.lines.filter((l) => l.includes('nothing recalled'))).toHaveLength(1);
  });
});
