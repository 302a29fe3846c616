import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import ts from 'typescript';

/**
 * docs/decisions.md, 6, checked on the source: a machine imports `xstate`, other files of `machines/` and pure leaf modules
 * of `src/` (protocol types, text functions) only. Every import is followed, type-only ones too (a contract that
 * names an implementation's type couples the machine to it), transitively through whatever `src/` module a machine
 * reaches. A leaf reads no clock, no randomness and no node API, uses no package but zod, and imports nothing from
 * machines/ (the layers run one way).
 */

const ROOT = path.resolve(__dirname, '..', '..');
const ALLOWED_PACKAGES: ReadonlySet<string> = new Set(['xstate', 'zod']);
/** Leaves may use zod (schemas of protocol and config data); xstate is for machines and their contracts. */
const LEAF_PACKAGES: ReadonlySet<string> = new Set(['zod']);
const NODE_BUILTINS: ReadonlySet<string> = new Set(builtinModules);
/** Globals that reach the process, the clock or randomness. */
const IMPURE_GLOBALS: ReadonlySet<string> = new Set([
  'process',
  'Buffer',
  'NodeJS',
  'crypto',
  'performance',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'fetch',
  'require',
  'globalThis',
]);

type Import = { spec: string; file: string | null };

interface ModuleInfo {
  file: string;
  imports: Import[];
  /** Uses of the clock, randomness or node globals, as `line: text`. */
  impure: string[];
}

const rel = (file: string) => path.relative(ROOT, file).split(path.sep).join('/');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

function resolveRelative(from: string, spec: string): string {
  const base = path.resolve(path.dirname(from), spec.replace(/\.js$/, ''));
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // try the next form
    }
  }
  throw new Error(`${rel(from)}: cannot resolve "${spec}"`);
}

function isExpressionUse(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (ts.isQualifiedName(parent) && parent.right === node) return false;
  if (
    (ts.isPropertyAssignment(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isMethodDeclaration(parent) ||
      ts.isParameter(parent) ||
      ts.isVariableDeclaration(parent) ||
      ts.isFunctionDeclaration(parent) ||
      ts.isBindingElement(parent) ||
      ts.isImportSpecifier(parent) ||
      ts.isExportSpecifier(parent)) &&
    parent.name === node
  ) {
    return false;
  }
  return true;
}

const parsed = new Map<string, ModuleInfo>();

function parse(file: string): ModuleInfo {
  const known = parsed.get(file);
  if (known) return known;
  const info = analyse(file, readFileSync(file, 'utf8'));
  parsed.set(file, info);
  return info;
}

function analyse(file: string, text: string): ModuleInfo {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
  const imports: Import[] = [];
  const impure: string[] = [];
  const at = (node: ts.Node, what: string) => impure.push(`${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}: ${what}`);
  const addImport = (spec: string) => imports.push({ spec, file: spec.startsWith('.') ? resolveRelative(file, spec) : null });
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      addImport(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      addImport(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      addImport(node.arguments[0].text);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date' && (node.arguments?.length ?? 0) === 0) {
      at(node, 'new Date() reads the clock');
    } else if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression)) {
      const name = `${node.expression.text}.${node.name.text}`;
      if (name === 'Date.now' || name === 'Math.random') at(node, name);
    } else if (ts.isIdentifier(node) && IMPURE_GLOBALS.has(node.text) && isExpressionUse(node)) {
      at(node, node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { file, imports, impure };
}

/** `@scope/name/sub` → `@scope/name`; `node:fs` and `fs` → a node builtin. */
function packageOf(spec: string): { node: boolean; name: string } {
  if (spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0]!)) return { node: true, name: spec };
  const parts = spec.split('/');
  return { node: false, name: spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]! };
}

const machineFiles = tsFiles(path.join(ROOT, 'machines')).sort();
const inMachines = (file: string) => rel(file).startsWith('machines/');
const inSrc = (file: string) => rel(file).startsWith('src/');

/** Every module a machine reaches, with the chain that first reached it (for messages). */
function reachable(): Map<string, string[]> {
  const via = new Map<string, string[]>();
  const queue = machineFiles.map((file) => [file]);
  while (queue.length > 0) {
    const chain = queue.shift()!;
    const file = chain[chain.length - 1]!;
    if (via.has(file)) continue;
    via.set(file, chain);
    for (const imp of parse(file).imports) if (imp.file && !via.has(imp.file)) queue.push([...chain, imp.file]);
  }
  return via;
}

const reached = reachable();
const chainText = (chain: readonly string[]) => chain.map(rel).join(' → ');

/** Strongly connected components of a graph (Tarjan), those with more than one node. */
function cycles(nodes: Iterable<string>, edges: (node: string) => string[]): string[][] {
  let index = 0;
  const indices = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string) => {
    indices.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges(v)) {
      if (!indices.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indices.get(w)!));
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of nodes) if (!indices.has(node)) connect(node);
  return found;
}

const importedFiles = (file: string) => parse(file).imports.flatMap((imp) => (imp.file ? [imp.file] : []));

/** Why a `src/` module is not a pure leaf ([] when it is one): what it, or a module it reaches, depends on. */
function leafProblems(file: string, seen = new Set<string>()): string[] {
  if (seen.has(file)) return [];
  seen.add(file);
  const info = parse(file);
  const problems = info.impure.map((use) => `${rel(file)}:${use}`);
  for (const imp of info.imports) {
    if (imp.file) {
      // The layers run one way: machines/ → leaves. A leaf that imports machines/ (even a contract) runs back up.
      if (inMachines(imp.file)) problems.push(`${rel(file)} imports ${rel(imp.file)}`);
      else problems.push(...leafProblems(imp.file, seen));
    } else {
      const pkg = packageOf(imp.spec);
      if (pkg.node || !LEAF_PACKAGES.has(pkg.name)) problems.push(`${rel(file)} imports ${imp.spec}`);
    }
  }
  return problems;
}

describe('layering: machines import xstate, machines/ and pure leaves only (docs/decisions.md, 6)', () => {
  test('the import graph is read (a check that finds nothing must not pass by accident)', () => {
    expect(machineFiles.length).toBeGreaterThan(10);
    const turn = parse(path.join(ROOT, 'machines/turn-setup.ts'));
    expect(turn.imports.map((i) => i.spec)).toEqual(expect.arrayContaining(['xstate', './tts-pipeline.machine.js']));
    expect([...reached.keys()].map(rel)).toEqual(expect.arrayContaining(['machines/session.machine.ts', 'machines/turn.machine.ts', 'src/protocol/server-frames.ts']));
    // The detectors work on a known-bad sample.
    const sample = analyse(
      path.join(ROOT, 'machines/sample.ts'),
      [
        "import type { WebSocket } from 'ws';",
        "export { z } from 'zod';",
        "type T = import('node:fs').Stats;",
        'const id = globalThis.crypto.randomUUID();',
        'const at = new Date(); const ms = Date.now(); const r = Math.random(); const d = new Date(0);',
        'const o = { process: 1, setTimeout() {} }; o.process;',
      ].join('\n'),
    );
    expect(sample.imports.map((i) => i.spec)).toEqual(['ws', 'zod', 'node:fs']);
    expect(sample.impure).toEqual(['4: globalThis', '5: new Date() reads the clock', '5: Date.now', '5: Math.random']);
    expect(cycles(['a', 'b', 'c', 'd'], (n) => ({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] })[n] ?? [])).toEqual([['a', 'b', 'c']]);
    expect(packageOf('node:fs/promises').node).toBe(true);
    expect(packageOf('fs').node).toBe(true);
    expect(packageOf('@modelcontextprotocol/sdk/client/index.js').name).toBe('@modelcontextprotocol/sdk');
  });

  test('no machine reaches a node API', () => {
    const offending = [...reached].flatMap(([file, chain]) =>
      parse(file).imports.filter((imp) => !imp.file && packageOf(imp.spec).node).map((imp) => `${chainText(chain)} → ${imp.spec}`),
    );
    expect(offending).toEqual([]);
  });

  test('no machine reaches a package other than xstate and zod', () => {
    const offending = [...reached].flatMap(([file, chain]) =>
      parse(file)
        .imports.filter((imp) => !imp.file && !packageOf(imp.spec).node && !ALLOWED_PACKAGES.has(packageOf(imp.spec).name))
        .map((imp) => `${chainText(chain)} → ${imp.spec}`),
    );
    expect(offending).toEqual([]);
  });

  test('no machine reads the clock, randomness or a node global', () => {
    const offending = [...reached.keys()].flatMap((file) => parse(file).impure.map((use) => `${rel(file)}:${use}`));
    expect(offending).toEqual([]);
  });

  test('no import cycle runs through src/ (a module a machine reaches never imports that machine back)', () => {
    const throughSrc = cycles(reached.keys(), importedFiles)
      .map((component) => component.map(rel))
      .filter((component) => component.some((file) => file.startsWith('src/')));
    expect(throughSrc).toEqual([]);
  });

  test('machines → src/ imports go to pure leaves only: 0 to anything else', () => {
    const edges = machineFiles.flatMap((file) =>
      parse(file)
        .imports.filter((imp) => imp.file && inSrc(imp.file))
        .map((imp) => ({ from: rel(file), to: rel(imp.file!), problems: leafProblems(imp.file!) })),
    );
    const nonLeaf = edges.filter((edge) => edge.problems.length > 0).map((edge) => `${edge.from} → ${edge.to}: ${edge.problems.slice(0, 3).join('; ')}`);
    expect(nonLeaf).toEqual([]);
    expect(nonLeaf.length).toBe(0);
  });
});

describe('slots take their contracts as typed: no casts between a machine and its slot implementations', () => {
  const slotFiles = tsFiles(path.join(ROOT, 'src')).filter((file) => /-(actor|actors|bridge)\.ts$/.test(file));

  test('the slot implementations are found', () => {
    expect(slotFiles.map(rel)).toEqual(
      expect.arrayContaining(['src/engines/llm/llm-stream-actor.ts', 'src/engines/tts/synthesize-actor.ts', 'src/engines/asr/transcribe-actor.ts', 'src/proxy/proxy-bridge.ts']),
    );
  });

  test('no `as unknown as`, and no cast of a slot input', () => {
    const offending = slotFiles.flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (/\bas unknown as\b|\binput\.[\w.]+\s+as\s/.test(line) ? [`${rel(file)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offending).toEqual([]);
  });
});
