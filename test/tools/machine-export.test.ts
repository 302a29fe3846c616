import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMachine, type AnyStateMachine } from 'xstate';
import { groupConversationMachine } from '../../machines/group-conversation.machine.js';
import { groupMachine } from '../../machines/group.machine.js';
import { proxyHubMachine } from '../../machines/proxy-hub.machine.js';
import { serverMachine } from '../../machines/server.machine.js';
import { sessionMachine } from '../../machines/session.machine.js';
import { ttsPipelineMachine } from '../../machines/tts-pipeline.machine.js';
import { toolboxMachine } from '../../machines/toolbox.machine.js';
import { turnMachine } from '../../machines/turn.machine.js';
import { localModelMachine } from '../../machines/local-model.machine.js';
import { localModelsMachine } from '../../machines/local-models.machine.js';
import { findProgram } from '../../src/engines/find-program.js';
import { machineToDot, machineToJson, statePaths } from '../../src/tools/machine-export.js';

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

describe.each([
  ['server', serverMachine],
  ['session', sessionMachine],
  ['turn', turnMachine],
  ['ttsPipeline', ttsPipelineMachine],
  ['toolbox', toolboxMachine],
  ['group', groupMachine],
  ['groupConversation', groupConversationMachine],
  ['proxyHub', proxyHubMachine],
  ['localModel', localModelMachine],
  ['localModels', localModelsMachine],
] as Array<[string, AnyStateMachine]>)('machines:export — %s', (_name, machine) => {
  const json = machineToJson(machine);

  test('the JSON re-creates an equivalent machine: same states, events, eventless transitions and invokes', () => {
    const recreated = createMachine(JSON.parse(JSON.stringify(json)));
    expect(statePaths(recreated)).toEqual(statePaths(machine));
    // The toolbox and the local-models pool are one state that reacts to events; every other machine has a real state chart.
    expect(statePaths(machine).length).toBeGreaterThanOrEqual(machine.id === 'toolbox' || machine.id === 'localModels' ? 0 : 2);
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

test('the export script writes JSON for every machine', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'vas-export-'));
  try {
    const root = path.resolve(__dirname, '..', '..');
    execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'src/tools/export-machines.ts'), '--out', out], { cwd: root });
    for (const id of ['server', 'session', 'turn', 'ttsPipeline', 'localModel', 'localModels']) {
      expect(JSON.parse(readFileSync(path.join(out, `${id}.json`), 'utf8')).id).toBe(id);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
