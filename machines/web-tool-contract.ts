import type { AnyActorRef } from 'xstate';
import type { AsrEngine, TtsEngine } from './engine-contracts.js';
import type { ClientSocket } from './socket-contract.js';

/**
 * The web tool's contract (web-tool.machine.ts, web-tool-speech.machine.ts, web-tool-cache.machine.ts): `POST /asr`
 * and `/tts-ws`, served with the default character's engines. The HTTP listener asks by event and is answered by
 * event; src/web-tool/ implements the slots.
 */

/** The web tool's name in the actor system, where the HTTP listener finds it. */
export const WEB_TOOL_SYSTEM_ID = 'webTool';

/** What the web tool serves with: the default character's engines, or why one is missing. */
export interface WebToolEngines {
  asr?: AsrEngine;
  asrUnavailable?: string;
  tts?: TtsEngine;
  ttsUnavailable?: string;
}

/** How long an audio file of `/tts-ws` is kept, and how many (and how many bytes of them) at most. */
export interface CacheSettings {
  lifetimeMs: number;
  maxFiles: number;
  maxBytes: number;
}

export interface WebToolSettings {
  /** Transcriptions running at once, and waiting behind them; one more is refused (503). */
  asrRunning: number;
  asrWaiting: number;
  /** One recording transcribed (system_config.asr_timeout_seconds). */
  transcriptionMs: number;
  /** One sentence spoken (system_config.tts_timeout_seconds). */
  synthesisMs: number;
  /** `/tts-ws` connections at once. */
  maxSpeechSockets: number;
  /** Texts one connection may have waiting behind the one being spoken. */
  maxWaitingTexts: number;
  cache: CacheSettings;
}

export const DEFAULT_WEB_TOOL_SETTINGS: WebToolSettings = {
  asrRunning: 2,
  asrWaiting: 4,
  transcriptionMs: 60_000,
  synthesisMs: 60_000,
  maxSpeechSockets: 16,
  maxWaitingTexts: 8,
  cache: { lifetimeMs: 10 * 60_000, maxFiles: 256, maxBytes: 128 * 1024 * 1024 },
};

/** Requests to the web tool, from the HTTP listener. */
export type WebToolRequest =
  /** A recording (16 kHz mono) to transcribe; the answer goes to `replyTo` as `webTool.transcribed`. */
  | { type: 'webTool.transcribe'; jobId: string; samples: Float32Array; replyTo: AnyActorRef }
  /** The asker went away: its job is dropped, or stopped if it runs. */
  | { type: 'webTool.cancel'; jobId: string }
  /** An accepted `/tts-ws` connection. */
  | { type: 'webTool.speechSocket'; socket: ClientSocket };

/** How a transcription request ended. */
export type TranscribeOutcome =
  | { kind: 'text'; text: string }
  /** Too many requests running and waiting. */
  | { kind: 'busy'; message: string }
  /** No recogniser is configured, or it cannot run. */
  | { kind: 'unavailable'; message: string }
  | { kind: 'failed'; message: string }
  /** The recogniser did not answer within its deadline. */
  | { kind: 'timeout'; message: string };

export interface TranscribeReply {
  type: 'webTool.transcribed';
  jobId: string;
  outcome: TranscribeOutcome;
}

/** The frames `/tts-ws` sends, in upstream's shapes. */
export type SpeechFrame =
  | { status: 'partial'; audioPath: string; text: string }
  | { status: 'complete' }
  | { status: 'error'; message: string };

/** The `speechSocket` slot: one `/tts-ws` connection (src/web-tool/speech-socket-actor.ts). */
export interface SpeechSocketInput {
  socket: ClientSocket;
}

/** What the socket reports: a text to speak, already cut into sentences, and its close. */
export type SpeechSocketEvent = { type: 'speech.text'; sentences: string[] } | { type: 'speech.closed' };

export type SpeechSocketCommand = { type: 'speech.send'; frame: SpeechFrame };

/** The `speakToFile` slot: one sentence → an audio file in the cache folder, or null when there is nothing to hear. */
export interface SpeakToFileInput {
  engine: TtsEngine;
  text: string;
}

export interface SpokenFile {
  /** The file's name in the cache folder (served at `/cache/<name>`). */
  name: string;
  bytes: number;
}

/** A file written to the cache folder, for the cache keeper. */
export type CacheAdded = { type: 'cache.added'; name: string; bytes: number };

/** The `cacheFolder` slot: deletes a file of the cache folder. */
export type CacheFolderCommand = { type: 'cacheFolder.delete'; name: string };
