import fc from 'fast-check';
import { flushToolJson, initialToolJson, scanToolJson, type ToolJsonState } from '../../src/agent/tool-call-json.js';

/** Feeds `pieces` one by one; returns everything spoken and the calls found (scanning stops at the first calls). */
function run(pieces: string[]) {
  let state: ToolJsonState = initialToolJson();
  let spoken = '';
  for (const piece of pieces) {
    const step = scanToolJson(state, piece);
    state = step.state;
    spoken += step.speak;
    if (step.calls.length > 0) return { spoken, calls: step.calls };
  }
  return { spoken: spoken + flushToolJson(state).speak, calls: [] };
}

describe('prompt-mode tool call JSON', () => {
  test('a call split across deltas is caught and never spoken; arguments as an object or a JSON string', () => {
    expect(run(['Sure. {"mcp_server": "t', 'ools", "tool": "echo", "arguments": {"text": "a } b"}}', ' ignored'])).toEqual({
      spoken: 'Sure. ',
      calls: [{ id: 'prompt_call_1', name: 'echo', server: 'tools', arguments: '{"text":"a } b"}' }],
    });
    expect(run(['{"mcp_server":"s","tool":"add","arguments":"{\\"a\\":1}"}']).calls[0]!.arguments).toBe('{"a":1}');
  });

  test('a list of calls, and a call in a code fence', () => {
    const list = run(['[{"mcp_server":"s","tool":"a","arguments":{}}, {"mcp_server":"s","tool":"b","arguments":{}}]']);
    expect(list.calls.map((c) => c.name)).toEqual(['a', 'b']);
    expect(list.spoken).toBe('');
    const fenced = run(['Here:\n```json\n', '{"mcp_server":"s","tool":"a","arguments":{}}\n```']);
    expect(fenced).toMatchObject({ spoken: 'Here:\n', calls: [{ name: 'a' }] });
  });

  test('braces that are not a tool call are spoken as they were written, emotion tags pass at once', () => {
    expect(run(['[joy] I {really} like ', 'sets like {1, 2}.'])).toEqual({ spoken: '[joy] I {really} like sets like {1, 2}.', calls: [] });
    expect(scanToolJson(initialToolJson(), '[joy] Hello').speak).toBe('[joy] Hello');
    expect(run(['A JSON object: {"a": 1} is fine.'])).toEqual({ spoken: 'A JSON object: {"a": 1} is fine.', calls: [] });
    expect(run(['unfinished {"tool": '])).toEqual({ spoken: 'unfinished {"tool": ', calls: [] });
  });

  test('property: text without a tool call comes out whole, however it is split', () => {
    const text = fc.stringMatching(/^[a-z {}[\]",:.!?\n]{0,80}$/).filter((t) => !t.includes('"tool"'));
    fc.assert(
      fc.property(text, fc.array(fc.nat(80), { maxLength: 6 }), (t, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (t.length + 1)))].sort((a, b) => a - b);
        const pieces = [0, ...points, t.length].slice(1).map((end, i, ends) => t.slice(i === 0 ? 0 : ends[i - 1], end));
        expect(run(pieces).spoken).toBe(t);
      }),
      { numRuns: 300 },
    );
  });
});
