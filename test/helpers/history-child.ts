/**
 * A process that appends numbered messages to one history, forever, printing "ack <n>" after each append has
 * resolved (the store's promise: the message is on disk). The crash test kills it with SIGKILL at random moments.
 * argv: <chat_history root> <conf_uid> <history_uid> <first n>
 */
import { HistoryStore } from '../../src/history/history-store.js';

const [root, confUid, historyUid, first] = process.argv.slice(2) as [string, string, string, string];
const store = new HistoryStore(root);
let n = Number(first);
for (;;) {
  await store.append(confUid, historyUid, [{ role: 'human', timestamp: '2026-01-01T00:00:00', content: `message ${n}`, name: 'Human' }]);
  process.stdout.write(`ack ${n}\n`);
  n++;
}
