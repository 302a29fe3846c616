/**
 * The client side of bench:turns, in its own process so that its work is not counted as the server's. Driven over
 * IPC by bench/turns.ts; every timestamp is epoch milliseconds with sub-millisecond precision
 * (performance.timeOrigin + performance.now()), comparable across the two processes.
 */
import WebSocket from 'ws';

type Frame = { type: string; text?: string; client_uid?: string };
export type ClientCommand =
  | { cmd: 'turns'; url: string; sessions: number; turnsPerSession: number; thinkMs: number }
  | { cmd: 'interrupts'; url: string; count: number }
  | { cmd: 'drift'; url: string; turns: number; newConversationEvery: number };
export interface TurnSample {
  uid: string;
  ordinal: number;
  /** Carried by the message (`Hi q<n>`): the fake engines report their own time for the turn under this tag. */
  tag: string;
  sentAt: number;
  firstAudioAt: number;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let tags = 0;

class Client {
  uid = '';
  turnsDone = 0;
  private ws!: WebSocket;
  private waiter: ((frame: Frame) => void) | undefined;

  async open(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data) => this.waiter?.(JSON.parse(String(data)) as Frame));
    await new Promise<void>((resolve, reject) => {
      this.waiter = (f) => {
        if (f.type === 'set-model-and-conf') this.uid = String(f.client_uid);
        if (f.type === 'control' && f.text === 'start-mic') resolve();
      };
      this.ws.once('error', reject);
    });
  }

  /** One turn, completed like the web client does (playback-complete after backend-synth-complete). */
  turn(): Promise<TurnSample> {
    return new Promise((resolve) => {
      const sample: TurnSample = { uid: this.uid, ordinal: this.turnsDone++, tag: `q${++tags}`, sentAt: 0, firstAudioAt: 0 };
      this.waiter = (frame) => {
        if (frame.type === 'audio' && !sample.firstAudioAt) sample.firstAudioAt = now();
        if (frame.type === 'backend-synth-complete') this.ws.send('{"type":"frontend-playback-complete"}');
        if (frame.type === 'control' && frame.text === 'conversation-chain-end') resolve(sample);
      };
      const frame = JSON.stringify({ type: 'text-input', text: `Hi ${sample.tag}`, images: [] });
      sample.sentAt = now();
      this.ws.send(frame);
    });
  }

  /** A turn interrupted at its first audio frame: interrupt → last frame received for it (0 if none). */
  interrupted(): Promise<number> {
    return new Promise((resolve) => {
      this.turnsDone++;
      let interruptedAt = 0;
      let last = 0;
      this.waiter = (frame) => {
        if (interruptedAt) last = now();
        else if (frame.type === 'audio') {
          interruptedAt = now();
          this.ws.send(JSON.stringify({ type: 'interrupt-signal', text: '' }));
          setTimeout(() => resolve(last ? last - interruptedAt : 0), 300);
        }
      };
      this.ws.send(JSON.stringify({ type: 'text-input', text: 'Tell me more', images: [] }));
    });
  }

  /** `create-new-history`, as the client's "+" button: a fresh conversation (the session's memory is emptied). */
  newConversation(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = (frame) => frame.type === 'new-history-created' && resolve();
      this.ws.send('{"type":"create-new-history"}');
    });
  }

  close() {
    this.ws.close();
  }
}

async function run(command: ClientCommand): Promise<unknown> {
  if (command.cmd === 'turns') {
    const clients = Array.from({ length: command.sessions }, () => new Client());
    await Promise.all(clients.map((c) => c.open(command.url)));
    const samples: TurnSample[] = [];
    // Independent users: each waits a random "thinking" time before each message, so turns overlap at random.
    await Promise.all(
      clients.map(async (client) => {
        for (let i = 0; i < command.turnsPerSession; i++) {
          await sleep(Math.random() * command.thinkMs);
          samples.push(await client.turn());
        }
      }),
    );
    clients.forEach((c) => c.close());
    return samples;
  }
  const client = new Client();
  await client.open(command.url);
  try {
    if (command.cmd === 'interrupts') {
      const tails: number[] = [];
      for (let i = 0; i < command.count; i++) tails.push(await client.interrupted());
      return tails;
    }
    const samples: TurnSample[] = [];
    for (let i = 0; i < command.turns; i++) {
      if (command.newConversationEvery > 0 && i > 0 && i % command.newConversationEvery === 0) await client.newConversation();
      samples.push(await client.turn());
    }
    return samples;
  } finally {
    client.close();
  }
}

process.on('message', (command: ClientCommand) => {
  run(command).then(
    (result) => process.send!({ ok: true, result }),
    (err: unknown) => process.send!({ ok: false, error: String(err) }),
  );
});
