/**
 * npm run machines:export [-- --out machines-export]
 *
 * Writes every machine of machines/ as `<id>.json` (open it in the Stately editor, or `createMachine(json)`), and as
 * `<id>.dot` / `<id>.svg` when Graphviz's `dot` is on PATH.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findProgram } from '../engines/find-program.js';
import { machineToDot, machineToJson } from './machine-export.js';
import { MACHINES } from './machine-list.js';


const outIndex = process.argv.indexOf('--out');
const out = path.resolve(outIndex >= 0 ? process.argv[outIndex + 1]! : 'machines-export');
mkdirSync(out, { recursive: true });
const dot = findProgram('dot');
for (const machine of MACHINES) {
  const json = machineToJson(machine);
  const base = path.join(out, String(json.id));
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(`${base}.dot`, machineToDot(json));
  if (dot) writeFileSync(`${base}.svg`, execFileSync(dot, ['-Tsvg', `${base}.dot`]));
  process.stdout.write(`${base}.json${dot ? ' .dot .svg' : ' .dot (install graphviz for .svg)'}\n`);
}
