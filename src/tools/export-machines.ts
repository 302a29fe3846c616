/**
 * npm run machines:export [-- --out machines-export]
 *
 * Writes every machine of machines/ as `<id>.json` (open it in the Stately editor, or `createMachine(json)`), and as
 * `<id>.dot` / `<id>.svg` when Graphviz's `dot` is on PATH.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { groupConversationMachine } from '../../machines/group-conversation.machine.js';
import { groupMachine } from '../../machines/group.machine.js';
import { proxyHubMachine } from '../../machines/proxy-hub.machine.js';
import { serverMachine } from '../../machines/server.machine.js';
import { sessionMachine } from '../../machines/session.machine.js';
import { ttsPipelineMachine } from '../../machines/tts-pipeline.machine.js';
import { toolboxMachine } from '../../machines/toolbox.machine.js';
import { toolServersMachine } from '../../machines/tool-servers.machine.js';
import { sharedToolServerMachine } from '../../machines/shared-tool-server.machine.js';
import { turnMachine } from '../../machines/turn.machine.js';
import { assetDownloadMachine } from '../../machines/asset-download.machine.js';
import { localModelMachine } from '../../machines/local-model.machine.js';
import { localModelsMachine } from '../../machines/local-models.machine.js';
import { requestQueueMachine } from '../../machines/request-queue.machine.js';
import { transcriptionMachine } from '../../machines/transcription.machine.js';
import { voiceDetectionMachine } from '../../machines/voice-detection.machine.js';
import { webToolMachine } from '../../machines/web-tool.machine.js';
import { webToolCacheMachine } from '../../machines/web-tool-cache.machine.js';
import { webToolSpeechMachine } from '../../machines/web-tool-speech.machine.js';
import { liveChatMachine } from '../../machines/live-chat.machine.js';
import { liveChatRoomMachine } from '../../machines/live-chat-room.machine.js';
import { findProgram } from '../engines/find-program.js';
import { machineToDot, machineToJson } from './machine-export.js';

export const MACHINES = [
  serverMachine,
  sessionMachine,
  turnMachine,
  ttsPipelineMachine,
  toolboxMachine,
  toolServersMachine,
  sharedToolServerMachine,
  groupMachine,
  groupConversationMachine,
  proxyHubMachine,
  assetDownloadMachine,
  localModelsMachine,
  localModelMachine,
  requestQueueMachine,
  transcriptionMachine,
  voiceDetectionMachine,
  webToolMachine,
  webToolSpeechMachine,
  webToolCacheMachine,
  liveChatMachine,
  liveChatRoomMachine,
];

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
