import { WebSocket, type RawData } from 'ws';
import { fromCallback, type EventObject } from 'xstate';
import { z } from 'zod';
import type { SpeechFrame, SpeechSocketCommand, SpeechSocketInput, SpeechSocketEvent } from '../../machines/web-tool-contract.js';
import type { Logger } from '../observability/logger.js';
import { closeSocket } from '../server/close-socket.js';
import { SocketHandle } from '../server/socket-handle.js';
import { keepAlive } from '../server/socket-keepalive.js';
import { speechSentences } from './speech-sentences.js';

/** A text longer than this is refused (its sentences would hold the connection's engine for a long time). */
export const MAX_SPEECH_TEXT_CHARS = 20_000;

/** `{"text": …}`; other keys are ignored, as upstream does. A missing, null or empty text is ignored too. */
const speechRequest = z.looseObject({ text: z.string().nullish() });

type Parsed = { kind: 'text'; sentences: string[] } | { kind: 'ignore' } | { kind: 'invalid'; message: string };

export function parseSpeechRequest(data: RawData, isBinary: boolean): Parsed {
  if (isBinary) return { kind: 'invalid', message: 'send text frames holding JSON, like {"text": "Hello there."}' };
  let json: unknown;
  try {
    json = JSON.parse(data.toString());
  } catch {
    return { kind: 'invalid', message: 'the frame is not JSON; send {"text": "Hello there."}' };
  }
  const request = speechRequest.safeParse(json);
  if (!request.success) return { kind: 'invalid', message: '"text" must be a string; send {"text": "Hello there."}' };
  const text = request.data.text;
  if (!text) return { kind: 'ignore' };
  if (text.length > MAX_SPEECH_TEXT_CHARS) {
    return { kind: 'invalid', message: `the text is ${text.length} characters long; send at most ${MAX_SPEECH_TEXT_CHARS} at a time` };
  }
  const sentences = speechSentences(text);
  return sentences.length > 0 ? { kind: 'text', sentences } : { kind: 'ignore' };
}

/**
 * One `/tts-ws` connection, as the `speechSocket` slot of its speech actor: each frame is checked here; a text becomes
 * `speech.text` with its sentences, a frame that is not `{"text": string}` is answered with an error frame at once,
 * and the close is reported as `speech.closed`. `speech.send` writes a frame. Its cleanup closes the connection.
 */
export function createSpeechSocket(logger: Logger, pingIntervalMs: number) {
  return fromCallback<SpeechSocketCommand, SpeechSocketInput, EventObject>(({ input, sendBack, receive }) => {
    if (!(input.socket instanceof SocketHandle)) throw new Error('a /tts-ws connection is a client socket');
    const { ws } = input.socket;
    const log = logger.child({ client_uid: `tts-ws:${input.socket.remote}` });
    let stopped = false;
    const send = (frame: SpeechFrame) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify(frame), (err) => {
        if (err && !stopped) log.warn(`could not send a ${frame.status} frame: ${err.message}`);
      });
    };
    ws.on('message', (data, isBinary) => {
      if (stopped) return;
      const parsed = parseSpeechRequest(data, isBinary);
      if (parsed.kind === 'text') sendBack({ type: 'speech.text', sentences: parsed.sentences } satisfies SpeechSocketEvent);
      else if (parsed.kind === 'invalid') {
        log.warn(`rejected frame: ${parsed.message}`);
        send({ status: 'error', message: parsed.message });
      }
    });
    ws.on('error', (err) => log.warn(`socket error: ${err.message}`));
    ws.on('close', () => {
      stopPinging();
      if (!stopped) sendBack({ type: 'speech.closed' } satisfies SpeechSocketEvent);
    });
    const stopPinging = keepAlive(ws, pingIntervalMs, () => log.warn('the /tts-ws client did not answer a ping: dropping the connection'));
    receive((command) => send(command.frame));
    if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) sendBack({ type: 'speech.closed' } satisfies SpeechSocketEvent);

    return () => {
      stopped = true;
      stopPinging();
      closeSocket(ws, 1001, 'server stopping');
    };
  });
}

/** A connection over the bound: told why, then closed with 1013 (try again later). */
export function refuseSpeechSocket(socket: unknown, message: string): void {
  if (!(socket instanceof SocketHandle)) return;
  if (socket.ws.readyState === WebSocket.OPEN) socket.ws.send(JSON.stringify({ status: 'error', message } satisfies SpeechFrame));
  closeSocket(socket.ws, 1013, 'too many /tts-ws connections');
}
