import path from 'node:path';
import { HistoryError } from '../../src/history/history-error.js';
import { confDir, historyFile, historyUidOf, isTempFileName, tempFileFor } from '../../src/history/history-paths.js';

const ROOT = path.resolve('/data/chat_history');
const UID = '2025-05-01_12-00-00_0123456789abcdef0123456789abcdef';

/** The code of the HistoryError `build` throws. */
function codeOf(build: () => unknown): string {
  try {
    build();
  } catch (err) {
    if (err instanceof HistoryError) return err.code;
    throw err;
  }
  throw new Error('nothing was thrown');
}

describe('history paths: uids checked before any path is built', () => {
  test('a plain conf_uid and history_uid name a file directly inside the root', () => {
    expect(confDir(ROOT, 'mao_pro_001')).toBe(path.join(ROOT, 'mao_pro_001'));
    expect(historyFile(ROOT, 'mao_pro_001', UID)).toBe(path.join(ROOT, 'mao_pro_001', `${UID}.json`));
  });

  test.each(['', '.', '..', '../x', 'a/b', 'a\\b', 'a\u0000b', 'x'.repeat(256)].map((uid) => [JSON.stringify(uid).slice(0, 12), uid]))('conf_uid %s is refused with history_invalid_conf_uid', (_shown, confUid) => {
    expect(codeOf(() => confDir(ROOT, confUid))).toBe('history_invalid_conf_uid');
    expect(codeOf(() => historyFile(ROOT, confUid, UID))).toBe('history_invalid_conf_uid');
  });

  test.each(['', '..', '../../conf', '/etc/passwd', '-leading-dash', 'a.json', 'a\u0000', 'a'.repeat(129)].map((uid) => [JSON.stringify(uid).slice(0, 16), uid]))('history_uid %s is refused with history_invalid_id', (_shown, uid) => {
    expect(codeOf(() => historyFile(ROOT, 'mao_pro_001', uid))).toBe('history_invalid_id');
  });

  test('a history_uid that is not a string is refused, not turned into a path', () => {
    expect(codeOf(() => historyFile(ROOT, 'mao_pro_001', 42 as unknown as string))).toBe('history_invalid_id');
  });

  test('file names in a folder: histories are told from temporary files and anything else', () => {
    expect(historyUidOf(`${UID}.json`)).toBe(UID);
    expect(historyUidOf(UID)).toBeUndefined();
    expect(historyUidOf('.hidden.json')).toBeUndefined();
    expect(historyUidOf('notes.txt')).toBeUndefined();
    const temp = tempFileFor(path.join(ROOT, 'mao_pro_001', `${UID}.json`));
    expect(path.dirname(temp)).toBe(path.join(ROOT, 'mao_pro_001'));
    expect(isTempFileName(path.basename(temp))).toBe(true);
    expect(historyUidOf(path.basename(temp))).toBeUndefined();
    expect(isTempFileName(`${UID}.json`)).toBe(false);
    expect(isTempFileName('edit.tmp')).toBe(false);
  });
});
