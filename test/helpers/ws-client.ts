import WebSocket from 'ws';

export type Frame = { type: string; [key: string]: unknown };

/**
 * A real WebSocket client that records every frame, so tests can assert exact sequences and wait for frames
 * with deadlines (a hang becomes a failed assertion, never a stuck suite).
 */
export class TestClient {
  readonly frames: Frame[] = [];
  readonly ws: WebSocket;
  closeCode: number | undefined;
  private waiters: Array<() => void> = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve((this.closeCode = code))));
    this.ws.on('error', () => undefined);
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(String(data)) as Frame);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.ws.on('close', () => {
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<TestClient> {
    const client = new TestClient(url, options);
    await client.opened;
    return client;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Resolves when `predicate` holds over the frames received so far; rejects after `ms`. */
  async waitUntil(predicate: (frames: Frame[]) => boolean, ms = 3000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this.frames)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the n-th frame (1-based count) of this type and returns it. */
  async next(type: string, count = 1, ms = 3000): Promise<Frame> {
    await this.waitUntil((fs) => fs.filter((f) => f.type === type).length >= count, ms, `${count}× "${type}"`);
    return this.frames.filter((f) => f.type === type)[count - 1]!;
  }

  ofType(type: string): Frame[] {
    return this.frames.filter((f) => f.type === type);
  }

  /**
   * A round trip: a heartbeat, and its ack. The session handles a client's frames one after another and answers in
   * order, so once the ack is here, everything the server sent in answer to the frames before it has arrived too: a
   * "nothing else arrives" check waits for this event instead of for time.
   */
  async roundTrip(ms = 3000): Promise<void> {
    const acks = this.ofType('heartbeat-ack').length;
    this.send({ type: 'heartbeat' });
    await this.next('heartbeat-ack', acks + 1, ms);
  }

  /**
   * A whole text turn as the web client has it: the text sent, the reply's audio received, playback reported finished,
   * and the chain closed (`force-new-message`). `n`: which turn of this client it is (1-based).
   */
  async completeTurn(text: string, n: number, ms = 3000): Promise<void> {
    this.send({ type: 'text-input', text, images: [] });
    await this.next('backend-synth-complete', n, ms);
    this.send({ type: 'frontend-playback-complete' });
    await this.next('force-new-message', n, ms);
  }

  /** The five connect frames of docs/protocol.md, 'Connect sequence' have arrived. */
  async ready(): Promise<void> {
    await this.waitUntil((fs) => fs.some((f) => f.type === 'control' && f.text === 'start-mic'), 3000, 'connect frames');
  }

  async close(): Promise<number> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

/** Client-side pacing only (a user's think time, a random moment to interrupt); never a wait for the server. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `predicate` until it holds; fails naming `what` after `ms`. */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Fails with a clear message instead of hanging when `promise` does not settle within `ms`. */
export async function settleOrStall<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`stalled: ${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, stall]);
  } finally {
    clearTimeout(timer);
  }
}
