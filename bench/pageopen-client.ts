/**
 * The client side of bench:pageopen, in its own process so that its work is not counted as the server's. Each open
 * is what the web client does when its page loads: connect, the four requests back to back (fetch-backgrounds,
 * fetch-configs, fetch-history-list, create-new-history), one text-input turn with the playback handshake, close.
 * A frame's arrival is timed when it arrives, before it is parsed. Once the four replies have arrived they are parsed
 * and checked as the web client needs them (JSON, and the fields it reads), and that is timed apart: the client's own
 * work grows with the history list, and is not the server's.
 */
import WebSocket from 'ws';

export type PageOpenCommand = { cmd: 'opens'; url: string; count: number };
export interface OpenSample {
  /** The turn's tag (`q<n>`), by which the fake engines report their own time. */
  tag: string;
  /** Requests sent → the last of their four replies arrived. */
  openMs: number;
  /** Requests sent → the history-list arrived. */
  listMs: number;
  /** Bytes of the history-list frame. */
  listBytes: number;
  /** Parsing and checking the four replies, after the last arrived. */
  parseMs: number;
  /** text-input sent → first audio frame. */
  firstAudioMs: number;
  /** The replies did not come back in request order. */
  outOfOrder: boolean;
}

const REQUESTS = ['fetch-backgrounds', 'fetch-configs', 'fetch-history-list', 'create-new-history'];
const REPLIES = ['background-files', 'config-files', 'history-list', 'new-history-created'];
const typeOf = (data: WebSocket.RawData) => /^\{"type":"([^"]+)"/.exec(data.toString('latin1', 0, 64))?.[1] ?? '';

const isArrayOf = (value: unknown, check: (item: unknown) => boolean) => Array.isArray(value) && value.every(check);
const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;
/** What the web client reads of each reply at load. */
const USABLE: Record<string, (frame: Record<string, unknown>) => boolean> = {
  'background-files': (f) => isArrayOf(f.files, (x) => typeof x === 'string'),
  'config-files': (f) => isArrayOf(f.configs, (x) => isObject(x) && typeof x.filename === 'string'),
  'history-list': (f) =>
    isArrayOf(f.histories, (h) => isObject(h) && typeof h.uid === 'string' && isObject(h.latest_message) && typeof h.latest_message.content === 'string'),
  'new-history-created': (f) => typeof f.history_uid === 'string',
};

/** Parses and checks the four replies as the web client needs them; throws if one is not usable. */
function parseReplies(raw: Buffer[]): void {
  for (const data of raw) {
    const frame = JSON.parse(data.toString('utf8')) as Record<string, unknown>;
    if (!USABLE[frame.type as string]?.(frame)) throw new Error(`unusable ${String(frame.type)} reply`);
  }
}

let turns = 0;

function open(url: string): Promise<OpenSample> {
  const tag = `q${++turns}`;
  return new Promise((resolve, reject) => {
    // ws validates UTF-8 in JavaScript unless told not to (a browser does it natively): a megabyte-sized history-list
    // would otherwise measure this client's validation, not the server.
    const ws = new WebSocket(url, { skipUTF8Validation: true });
    const replies: string[] = [];
    const raw: Buffer[] = [];
    let listMs = 0;
    let listBytes = 0;
    let parseMs = 0;
    let sentAt = 0;
    let openMs = 0;
    let askedAt = 0;
    let firstAudioMs = 0;
    ws.on('error', reject);
    ws.on('message', (data) => {
      const at = performance.now();
      const type = typeOf(data as WebSocket.RawData);
      if (type === 'control' && String(data).includes('start-mic')) {
        sentAt = performance.now();
        for (const request of REQUESTS) ws.send(`{"type":"${request}"}`);
      } else if (REPLIES.includes(type)) {
        replies.push(type);
        raw.push(data as Buffer);
        if (type === 'history-list') {
          listMs = at - sentAt;
          listBytes = (data as Buffer).length;
        }
        if (replies.length === REPLIES.length) {
          openMs = at - sentAt;
          try {
            parseReplies(raw);
          } catch (err) {
            reject(err as Error);
            return;
          }
          parseMs = performance.now() - at;
          raw.length = 0;
          askedAt = performance.now();
          ws.send(JSON.stringify({ type: 'text-input', text: `hello ${tag}, how is the weather?`, images: [] }));
        }
      } else if (type === 'audio' && !firstAudioMs) {
        firstAudioMs = at - askedAt;
      } else if (type === 'backend-synth-complete') {
        ws.send('{"type":"frontend-playback-complete"}');
      } else if (type === 'control' && String(data).includes('conversation-chain-end')) {
        ws.close();
      } else if (type === 'error') {
        reject(new Error(String(data)));
      }
    });
    ws.on('close', () => resolve({ tag, openMs, listMs, listBytes, parseMs, firstAudioMs, outOfOrder: replies.join() !== REPLIES.join() }));
  });
}

process.on('message', (command: PageOpenCommand) => {
  void (async () => {
    try {
      const samples: OpenSample[] = [];
      for (let i = 0; i < command.count; i++) samples.push(await open(command.url));
      process.send!({ ok: true, result: samples });
    } catch (err) {
      process.send!({ ok: false, error: (err as Error).message });
    }
  })();
});
