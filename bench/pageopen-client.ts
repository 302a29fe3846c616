/**
 * The client side of bench:pageopen, in its own process so that its work is not counted as the server's. Each open
 * is what the web client does when its page loads: connect, the four requests back to back (fetch-backgrounds,
 * fetch-configs, fetch-history-list, create-new-history), one text-input turn with the playback handshake, close.
 * A frame's arrival is timed when it arrives, before it is parsed or validated (the client's own work is not the
 * server's).
 */
import WebSocket from 'ws';

export type PageOpenCommand = { cmd: 'opens'; url: string; count: number };
export interface OpenSample {
  /** The turn's tag (`q<n>`), by which the fake engines report their own time. */
  tag: string;
  /** Requests sent → the last of their four replies arrived. */
  openMs: number;
  /** text-input sent → first audio frame. */
  firstAudioMs: number;
  /** The replies did not come back in request order. */
  outOfOrder: boolean;
}

const REQUESTS = ['fetch-backgrounds', 'fetch-configs', 'fetch-history-list', 'create-new-history'];
const REPLIES = ['background-files', 'config-files', 'history-list', 'new-history-created'];
const typeOf = (data: WebSocket.RawData) => /^\{"type":"([^"]+)"/.exec(data.toString('latin1', 0, 64))?.[1] ?? '';

let turns = 0;

function open(url: string): Promise<OpenSample> {
  const tag = `q${++turns}`;
  return new Promise((resolve, reject) => {
    // ws validates UTF-8 in JavaScript unless told not to (a browser does it natively): a megabyte-sized history-list
    // would otherwise measure this client's validation, not the server.
    const ws = new WebSocket(url, { skipUTF8Validation: true });
    const replies: string[] = [];
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
        if (replies.length === REPLIES.length) {
          openMs = at - sentAt;
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
    ws.on('close', () => resolve({ tag, openMs, firstAudioMs, outOfOrder: replies.join() !== REPLIES.join() }));
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
