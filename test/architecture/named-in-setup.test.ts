import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * docs/decisions.md, 5, checked on the source: every guard and action of a machine is named in its `setup()` (or in
 * the setup it extends) and the states refer to it by name. A `guard` written as a function, or an `actions`, `entry`
 * or `exit` that is, or lists, a call such as `assign(...)` or `sendTo(...)`, is one written inline. Guard
 * combinators (`and`, `or`, `not`) of named guards are calls too, and allowed.
 */

const MACHINES = path.resolve(__dirname, '..', '..', 'machines');
const ACTION_KEYS: ReadonlySet<string> = new Set(['actions', 'entry', 'exit']);

function inlineIn(name: string, text: string): string[] {
  const source = ts.createSourceFile(name, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const at = (node: ts.Node, what: string) => found.push(`${name}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`);
  const isCode = (node: ts.Node) => ts.isArrowFunction(node) || ts.isFunctionExpression(node);
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAssignment(node) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name))) {
      const key = node.name.text;
      const value = node.initializer;
      if (key === 'guard' && isCode(value)) at(value, 'a guard written inline');
      if (ACTION_KEYS.has(key)) {
        const items = ts.isArrayLiteralExpression(value) ? [...value.elements] : [value];
        for (const item of items) if (ts.isCallExpression(item) || isCode(item)) at(item, `an ${key === 'actions' ? 'action' : `${key} action`} written inline`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('guards and actions are named in setup() (docs/decisions.md, 5)', () => {
  test('the check finds what is written inline (a check that finds nothing must not pass by accident)', () => {
    const sample = `
      setup({ actions: { keep: assign({ a: 1 }) }, guards: { ready: () => true } }).createMachine({
        entry: [sendParent({ type: 'x' }), 'keep'],
        on: {
          a: { guard: ({ context }) => context.ok, actions: 'keep' },
          b: { guard: and(['ready', { type: 'ready' }]), actions: { type: 'keep', params: ({ event }) => event } },
          c: { actions: [assign({ b: 2 }), 'keep'] },
        },
        exit: () => undefined,
      });`;
    expect(inlineIn('sample.ts', sample)).toEqual([
      'sample.ts:3: an entry action written inline',
      'sample.ts:5: a guard written inline',
      'sample.ts:7: an action written inline',
      'sample.ts:9: an exit action written inline',
    ]);
  });

  test('no machine writes a guard or an action inline', () => {
    const files = readdirSync(MACHINES).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(30);
    const inline = files.flatMap((f) => inlineIn(f, readFileSync(path.join(MACHINES, f), 'utf8')));
    expect(inline).toEqual([]);
  });
});
