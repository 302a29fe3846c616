import { errorCodeLabel } from '../../src/observability/metrics.js';
import { ERROR_CODES, errorFrame } from '../../src/protocol/error-codes.js';

describe('error frames are counted by their code, not by their wording', () => {
  test('the label is the code whatever the message says', () => {
    // A message that reads like another kind of failure is still counted by its code.
    expect(errorCodeLabel({ ...errorFrame('llm_timeout', 'Speech recognition failed: history not found') })).toBe('llm_timeout');
    expect(errorCodeLabel({ code: 'asr' })).toBe('asr');
  });

  test('a frame without a known code is unclassified, never guessed from its text', () => {
    expect(errorCodeLabel({})).toBe('unclassified');
    expect(errorCodeLabel({ code: 'made_up' })).toBe('unclassified');
  });

  test('errorFrame keeps the wire shape clients read: type and message, plus the code', () => {
    expect(errorFrame('invalid_frame', 'Invalid JSON')).toEqual({ type: 'error', code: 'invalid_frame', message: 'Invalid JSON' });
    expect(Object.keys(ERROR_CODES).every((code) => /^[a-z_]+$/.test(code))).toBe(true);
  });
});
