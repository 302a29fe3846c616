/**
 * bench:cluster's `/proxy-ws` part: fan-out of one shared session to many viewers, all on the instance that runs it,
 * then split evenly over it and another instance (whose hub links to the owner over Redis). One viewer on the owner
 * sends each text-input and reports playback finished; every viewer is a real WebSocket in this process that notes
 * when the reply's first audio frame reaches it. Per turn: send → first audio at the last viewer, overall and per
 * instance. The viewers read only the first bytes of each frame, so the client's own parsing does not dominate.
 */
import WebSocket from 'ws';
import { percentile } from './bench-utils.js';

interface Viewer {
  ws: WebSocket;
  /** When the current turn's first audio frame arrived (0: not yet). */
  audioAt: number;
  chainEnds: number;
}

const head = (data: WebSocket.RawData) => (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer)).subarray(0, 64).toString('latin1');

function connect(url: string, onFrame?: (head: string, viewer: Viewer) => void): Promise<Viewer> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const viewer: Viewer = { ws, audioAt: 0, chainEnds: 0 };
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const h = head(data);
      if (h.startsWith('{"type":"audio"') && viewer.audioAt === 0) viewer.audioAt = performance.now();
      else if (h.includes('conversation-chain-end')) viewer.chainEnds++;
      else if (h.includes('"start-mic"')) resolve(viewer);
      onFrame?.(h, viewer);
    });
  });
}

async function connectAll(url: string, count: number): Promise<Viewer[]> {
  const out: Viewer[] = [];
  // In batches, so that the instance is not handed a thousand handshakes at once.
  for (let i = 0; i < count; i += 50) out.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => connect(url)))));
  return out;
}

const waitFor = async (what: string, predicate: () => boolean, ms = 60_000) => {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`bench:cluster: no ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

/** Runs `turns` turns with `split` viewers on `owner` and the rest on `follower`; the last viewer's first audio per turn. */
export async function proxyFanOut(ownerUrl: string, followerUrl: string, viewers: number, split: number, turns: number) {
  const sender = await connect(ownerUrl, (h) => {
    if (h.includes('backend-synth-complete')) sender.ws.send(JSON.stringify({ type: 'frontend-playback-complete' }));
  });
  const onOwner = [sender, ...(await connectAll(ownerUrl, split - 1))];
  const onFollower = await connectAll(followerUrl, viewers - split);
  const all = [...onOwner, ...onFollower];
  const last = { all: [] as number[], owner: [] as number[], follower: [] as number[] };
  for (let t = 0; t < turns; t++) {
    for (const v of all) v.audioAt = 0;
    const ends = all.map((v) => v.chainEnds);
    const sentAt = performance.now();
    sender.ws.send(JSON.stringify({ type: 'text-input', text: `turn ${t}`, images: [] }));
    await waitFor('reply at every viewer', () => all.every((v, i) => v.chainEnds > ends[i]!));
    const latest = (vs: Viewer[]) => Math.max(...vs.map((v) => v.audioAt)) - sentAt;
    last.all.push(latest(all));
    last.owner.push(latest(onOwner));
    if (onFollower.length > 0) last.follower.push(latest(onFollower));
  }
  await Promise.all(all.map((v) => new Promise<void>((resolve) => (v.ws.once('close', () => resolve()), v.ws.close()))));
  return {
    all: { p50: percentile(last.all, 50), p99: percentile(last.all, 99) },
    owner: { p50: percentile(last.owner, 50), p99: percentile(last.owner, 99) },
    follower: last.follower.length > 0 ? { p50: percentile(last.follower, 50), p99: percentile(last.follower, 99) } : null,
  };
}
