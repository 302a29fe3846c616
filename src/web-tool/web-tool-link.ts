import { randomUUID } from 'node:crypto';
import type { ActorSystem, AnyActorRef, EventObject } from 'xstate';
import type { ClientSocket } from '../../machines/socket-contract.js';
import { WEB_TOOL_SYSTEM_ID, type TranscribeOutcome, type TranscribeReply, type WebToolRequest } from '../../machines/web-tool-contract.js';

/** How the HTTP routes reach the web tool actor. */
export interface WebToolAccess {
  /** A 16 kHz mono recording → how its transcription ended; the signal withdraws the request (the asker left). */
  transcribe(samples: Float32Array, signal: AbortSignal): Promise<TranscribeOutcome>;
  /** Hands an accepted `/tts-ws` connection to the web tool; false when there is none (the server is stopping). */
  openSpeechSocket(socket: ClientSocket): boolean;
}

const STOPPING: TranscribeOutcome = { kind: 'unavailable', message: 'the server is stopping' };

/**
 * The HTTP listener's side of the web tool: a request goes to the `webTool` actor as an event with the listener
 * (`self`) as `replyTo`; its answer comes back to the listener, which passes it here (`onReply`). What is still
 * unanswered when the listener stops is answered "stopping".
 */
export function webToolLink(system: ActorSystem<any>, self: AnyActorRef): WebToolAccess & { onReply(event: EventObject): void; close(): void } {
  const pending = new Map<string, (outcome: TranscribeOutcome) => void>();
  const webTool = () => system.get(WEB_TOOL_SYSTEM_ID) as AnyActorRef | undefined;
  return {
    transcribe(samples, signal) {
      const target = webTool();
      if (!target) return Promise.resolve(STOPPING);
      if (signal.aborted) return Promise.resolve({ kind: 'failed', message: 'the request was withdrawn' });
      const jobId = randomUUID();
      return new Promise<TranscribeOutcome>((resolve) => {
        const onAbort = () => {
          pending.delete(jobId);
          webTool()?.send({ type: 'webTool.cancel', jobId } satisfies WebToolRequest);
          resolve({ kind: 'failed', message: 'the request was withdrawn' });
        };
        signal.addEventListener('abort', onAbort, { once: true });
        pending.set(jobId, (outcome) => {
          signal.removeEventListener('abort', onAbort);
          resolve(outcome);
        });
        target.send({ type: 'webTool.transcribe', jobId, samples, replyTo: self } satisfies WebToolRequest);
      });
    },
    openSpeechSocket(socket) {
      const target = webTool();
      target?.send({ type: 'webTool.speechSocket', socket } satisfies WebToolRequest);
      return target !== undefined;
    },
    onReply(event) {
      if (event.type !== 'webTool.transcribed') return;
      const reply = event as TranscribeReply;
      const answer = pending.get(reply.jobId);
      pending.delete(reply.jobId);
      answer?.(reply.outcome);
    },
    close() {
      for (const answer of pending.values()) answer(STOPPING);
      pending.clear();
    },
  };
}
