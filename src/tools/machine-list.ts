import type { AnyStateMachine } from 'xstate';
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
import { memoryMachine } from '../../machines/memory.machine.js';
import { clusterMachine } from '../../machines/cluster.machine.js';
import { proxyLeaseMachine } from '../../machines/proxy-lease.machine.js';
import { groupLinkMachine } from '../../machines/group-link.machine.js';

/** Every machine of machines/ (the export writes each; its test checks that none is missing). */
export const MACHINES: readonly AnyStateMachine[] = [
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
  memoryMachine,
  clusterMachine,
  proxyLeaseMachine,
  groupLinkMachine,
];
