import type { SessionCharacter } from './session-character.js';
import type { ServerFrame } from '../src/protocol/server-frames.js';

/** The frame that tells the client which model and character are active. */
export function modelAndConf(character: SessionCharacter, clientUid: string): ServerFrame {
  return {
    type: 'set-model-and-conf',
    model_info: character.modelInfo,
    conf_name: character.config.conf_name,
    conf_uid: character.config.conf_uid,
    client_uid: clientUid,
  };
}

/** The upstream connect sequence, in its exact order (docs/protocol.md, 'Connect sequence'). */
export function connectSequence(modelAndConfFrame: ServerFrame): ServerFrame[] {
  return [
    { type: 'group-update', members: [], is_owner: false },
    { type: 'full-text', text: 'Connection established' },
    modelAndConfFrame,
    { type: 'group-update', members: [], is_owner: false },
    { type: 'control', text: 'start-mic' },
  ];
}
