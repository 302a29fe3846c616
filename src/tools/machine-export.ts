import type { AnyStateMachine } from 'xstate';

/**
 * Machines as data, for the Stately editor/visualizer and for Graphviz: the JSON config of a machine's structure
 * (states, transitions with their event, target, named guard and actions, invokes by name, delays) — everything but
 * the implementations, which live in src/ and are provided at run time.
 */

type Json = Record<string, unknown>;
interface DefTransition {
  target?: string[];
  actions?: Array<{ type?: string } | string | null>;
  guard?: { type?: string } | string | null;
  reenter?: boolean;
  eventType?: string;
  delay?: string | number;
}
interface DefNode {
  id: string;
  key: string;
  type: string;
  initial?: { target?: string[] };
  states: Record<string, DefNode>;
  on: Record<string, DefTransition[]>;
  always?: DefTransition[];
  entry?: Array<{ type?: string } | string | null>;
  exit?: Array<{ type?: string } | string | null>;
  invoke?: Array<{ id?: string; src?: unknown }>;
}

/** Named actions by name; an inline function (which JSON cannot carry) as the placeholder `inline`. */
const named = (actions: Array<{ type?: string } | string | null> | undefined) =>
  (actions ?? []).flatMap((a) => {
    if (a === null || typeof a === 'function') return ['inline'];
    const type = typeof a === 'string' ? a : a.type;
    return typeof type === 'string' && !type.startsWith('xstate.') ? [type] : [];
  });

function transition(t: DefTransition): Json {
  const out: Json = {};
  if (t.target && t.target.length > 0) out.target = t.target.length === 1 ? t.target[0] : t.target;
  const actions = named(t.actions);
  if (actions.length > 0) out.actions = actions;
  if (typeof t.guard === 'string') out.guard = t.guard;
  else if (t.guard && typeof t.guard.type === 'string') out.guard = t.guard.type;
  if (t.reenter) out.reenter = true;
  return out;
}

interface LiveTransition {
  target?: Array<{ id: string }>;
  actions?: Array<{ type?: string } | string | null>;
  guard?: { type?: string } | string | null;
  reenter?: boolean;
}

function node(def: DefNode, root: boolean, machine: AnyStateMachine): Json {
  const out: Json = {};
  if (root) out.id = def.id;
  if (def.type === 'final' || def.type === 'parallel') out.type = def.type;
  const initial = def.initial?.target?.[0];
  if (initial) out.initial = initial.slice(initial.lastIndexOf('.') + 1);
  const on: Json = {};
  const after: Json = {};
  for (const [event, transitions] of Object.entries(def.on ?? {})) {
    if (event.startsWith('xstate.after.')) {
      for (const t of transitions) after[String(t.delay)] = transition(t);
    } else on[event] = transitions.map(transition);
  }
  if (Object.keys(after).length > 0) out.after = after;
  // Eventless transitions are not in toJSON(); they are read from the live state node.
  const live = machine.getStateNodeById(def.id) as unknown as { always?: LiveTransition[] };
  if (live.always && live.always.length > 0) {
    out.always = live.always.map((t) => transition({ ...t, target: t.target?.map((n) => `#${n.id}`) }));
  }
  const entry = named(def.entry);
  const exit = named(def.exit);
  if (entry.length > 0) out.entry = entry;
  if (exit.length > 0) out.exit = exit;
  // An invoke's completion events become its onDone / onError; generated ids (`0.turn.transcribing`) are dropped.
  const invoke = (def.invoke ?? []).filter((i) => typeof i.src === 'string').map((i) => {
    const entry: Json = { src: i.src as string };
    if (i.id && !/^\d+\./.test(i.id)) entry.id = i.id;
    for (const [kind, key] of [['done', 'onDone'], ['error', 'onError']] as const) {
      const ts = on[`xstate.${kind}.actor.${i.id}`] as Json[] | undefined;
      if (ts) {
        entry[key] = ts;
        delete on[`xstate.${kind}.actor.${i.id}`];
      }
    }
    return entry;
  });
  if (Object.keys(on).length > 0) out.on = on;
  if (invoke.length > 0) out.invoke = invoke;
  if (Object.keys(def.states ?? {}).length > 0) {
    out.states = Object.fromEntries(Object.entries(def.states).map(([key, child]) => [key, node(child, false, machine)]));
  }
  return out;
}

/** The JSON config of a machine (what `createMachine(json)` accepts). */
export function machineToJson(machine: AnyStateMachine): Json {
  return node(JSON.parse(JSON.stringify(machine.toJSON())) as DefNode, true, machine);
}

/** State paths (`active.responding`) of a machine, for comparisons. */
export function statePaths(machine: AnyStateMachine): string[] {
  const paths: string[] = [];
  const walk = (n: { path: string[]; states: Record<string, unknown> }) => {
    if (n.path.length > 0) paths.push(n.path.join('.'));
    for (const child of Object.values(n.states)) walk(child as typeof n);
  };
  walk(machine.root as unknown as { path: string[]; states: Record<string, unknown> });
  return paths;
}

/** Graphviz DOT: compound states as clusters, transitions labelled with their event. */
export function machineToDot(json: Json): string {
  const lines = [`digraph "${String(json.id)}" {`, '  compound=true; rankdir=LR; node [shape=box, style=rounded, fontname="Helvetica"]; edge [fontname="Helvetica", fontsize=10];'];
  const edges: string[] = [];
  const idOf = (path: string) => `"${path}"`;
  const resolve = (target: string, from: string) => (target.startsWith('#') ? target.slice(1) : `${from.slice(0, from.lastIndexOf('.'))}.${target}`);
  const walk = (n: Json, path: string, depth: number) => {
    const states = (n.states ?? {}) as Record<string, Json>;
    const pad = '  '.repeat(depth);
    for (const [key, child] of Object.entries(states)) {
      const childPath = `${path}.${key}`;
      if (child.states) {
        lines.push(`${pad}subgraph "cluster_${childPath}" { label="${key}";`);
        lines.push(`${pad}  ${idOf(childPath)} [shape=point, style=invis];`);
        walk(child, childPath, depth + 1);
        lines.push(`${pad}}`);
      } else lines.push(`${pad}${idOf(childPath)} [label="${key}"${child.type === 'final' ? ', peripheries=2' : ''}];`);
      const on = (child.on ?? {}) as Record<string, Json[]>;
      for (const [event, ts] of Object.entries(on)) {
        for (const t of ts) if (typeof t.target === 'string') edges.push(`  ${idOf(childPath)} -> ${idOf(resolve(t.target, childPath))} [label="${event}"];`);
      }
      for (const [delay, t] of Object.entries((child.after ?? {}) as Record<string, Json>)) {
        if (typeof t.target === 'string') edges.push(`  ${idOf(childPath)} -> ${idOf(resolve(t.target, childPath))} [label="after ${delay}", style=dashed];`);
      }
    }
  };
  walk(json, String(json.id), 1);
  return [...lines, ...edges, '}', ''].join('\n');
}
