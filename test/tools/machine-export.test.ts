import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMachine, StateMachine, type AnyStateMachine } from 'xstate';
import { findProgram } from '../../src/engines/find-program.js';
import { machineToDot, machineToJson, statePaths } from '../../src/tools/machine-export.js';
import { MACHINES } from '../../src/tools/machine-list.js';

/** Per state path: its event types, eventless transition count, and invoked sources. */
function shape(machine: AnyStateMachine) {
  const out: Record<string, { events: string[]; always: number; invokes: string[] }> = {};
  for (const p of statePaths(machine)) {
    const n = machine.getStateNodeById(`${machine.id}.${p}`) as unknown as {
      ownEvents: string[];
      always?: unknown[];
      invoke: Array<{ src: unknown }>;
    };
    out[p] = {
      events: [...n.ownEvents].filter((e) => !/^xstate\.(done|error)\.actor\.\d/.test(e)).sort(),
      always: n.always?.length ?? 0,
      invokes: n.invoke.map((i) => String(i.src)).sort(),
    };
  }
  return out;
}


/** Machines that are one state reacting to events; every other machine has a real state chart. */
const FLAT = new Set(['toolbox', 'toolServers', 'localModels', 'webToolCache']);

test('the table holds every machine of machines/', async () => {
  const dir = path.resolve(__dirname, '..', '..', 'machines');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.machine.ts'))) {
    const exported = Object.values(await import(path.join(dir, file))).filter((v) => v instanceof StateMachine);
    expect([file, exported.length]).toEqual([file, 1]);
    expect([file, MACHINES.includes(exported[0] as AnyStateMachine)]).toEqual([file, true]);
  }
});

describe.each(MACHINES.map((m) => [m.id, m] as [string, AnyStateMachine]))('machines:export — %s', (_name, machine) => {
  const json = machineToJson(machine);

  test('the JSON re-creates an equivalent machine: same states, events, eventless transitions and invokes', () => {
    const recreated = createMachine(JSON.parse(JSON.stringify(json)));
    expect(statePaths(recreated)).toEqual(statePaths(machine));
    expect(statePaths(machine).length).toBeGreaterThanOrEqual(FLAT.has(machine.id) ? 0 : 2);
    expect(shape(recreated)).toEqual(shape(machine));
  });

  (findProgram('dot') ? test : test.skip)('the DOT renders with Graphviz', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vas-dot-'));
    try {
      const file = path.join(dir, 'm.dot');
      writeFileSync(file, machineToDot(json));
      const svg = execFileSync(findProgram('dot')!, ['-Tsvg', file]).toString();
      expect(svg).toContain('<svg');
      for (const p of statePaths(machine).filter((s) => !s.includes('.'))) expect(svg).toContain(p);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test('the export script writes JSON for every machine, and only those', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'vas-export-'));
  try {
    const root = path.resolve(__dirname, '..', '..');
    execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/tools/export-machines.ts'), '--out', out], { cwd: root });
    const written = readdirSync(out).filter((f) => f.endsWith('.json'));
    expect(written.sort()).toEqual(MACHINES.map((m) => `${m.id}.json`).sort());
    for (const { id } of MACHINES) expect(JSON.parse(readFileSync(path.join(out, `${id}.json`), 'utf8')).id).toBe(id);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
