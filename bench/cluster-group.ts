/**
 * bench:cluster's group part: a two-member chat group whose members are on one instance, beside one whose members are
 * on two (the group on the inviter's instance, the other member's turns on its own, linked over Redis); they take
 * turns. The invitee sends each text-input and so speaks first: its turn's frames travel to the group and back to
 * it. Per turn: send → the invitee's first audio, and send → the inviter's first forwarded audio, each member
 * reporting playback as the frontend does.
 */
import WebSocket from 'ws';
import { percentile } from './bench-utils.js';

interface Member {
  ws: WebSocket;
  uid: string;
  frames: Array<{ type: string; [key: string]: unknown }>;
  /** When this turn's first audio of its own, and first forwarded audio, arrived (0: not yet). */
  ownAt: number;
  forwardedAt: number;
  /** Told after every frame: the bench waits on frames, it does not poll (a poll would share the cores it measures). */
  onFrame: (() => void) | null;
}

function join(url: string): Promise<Member> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const member: Member = { ws, uid: '', frames: [], ownAt: 0, forwardedAt: 0, onFrame: null };
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Member['frames'][number];
      member.frames.push(frame);
      if (frame.type === 'audio' && !frame.forwarded && !member.ownAt) member.ownAt = performance.now();
      if (frame.type === 'audio' && frame.forwarded && !member.forwardedAt) member.forwardedAt = performance.now();
      if (frame.type === 'set-model-and-conf') member.uid = String(frame.client_uid);
      if (frame.type === 'audio' && !frame.forwarded) ws.send(JSON.stringify({ type: 'audio-play-start', display_text: frame.display_text, forwarded: false }));
      if (frame.type === 'backend-synth-complete') ws.send(JSON.stringify({ type: 'frontend-playback-complete' }));
      if (frame.type === 'control' && frame.text === 'start-mic') resolve(member);
      member.onFrame?.();
    });
  });
}

/** Resolves at the first frame to either member after which `predicate` holds; fails after `ms`. */
const waitFor = (what: string, members: Member[], predicate: () => boolean, ms = 30_000) =>
  new Promise<void>((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      for (const m of members) m.onFrame = null;
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`bench:cluster: no ${what} within ${ms} ms`)), ms);
    const check = () => {
      if (predicate()) done();
    };
    for (const m of members) m.onFrame = check;
    check();
  });
const chainEnds = (m: Member) => m.frames.filter((f) => f.type === 'control' && f.text === 'conversation-chain-end').length;
const groupSize = (m: Member) => (m.frames.filter((f) => f.type === 'group-update').at(-1)?.members as unknown[] | undefined)?.length ?? 0;

/** A two-member group, the inviter on `inviterUrl`, the invitee on `inviteeUrl`, ready for turns. */
export async function startGroup(inviterUrl: string, inviteeUrl: string, knows: (uid: string) => Promise<boolean>) {
  const inviter = await join(inviterUrl);
  const invitee = await join(inviteeUrl);
  for (let i = 0; i < 400 && !(await knows(invitee.uid)); i++) await new Promise((r) => setTimeout(r, 50));
  inviter.ws.send(JSON.stringify({ type: 'add-client-to-group', invitee_uid: invitee.uid }));
  await waitFor('the group', [inviter, invitee], () => groupSize(inviter) === 2 && groupSize(invitee) === 2);
  let t = 0;
  return {
    /** One group conversation (both characters answer): send → the invitee's first audio, and → the inviter's forwarded one. */
    async turn() {
      const [endsA, endsB] = [chainEnds(inviter), chainEnds(invitee)];
      for (const m of [inviter, invitee]) Object.assign(m, { ownAt: 0, forwardedAt: 0 });
      const sentAt = performance.now();
      invitee.ws.send(JSON.stringify({ type: 'text-input', text: `turn ${t++}`, images: [] }));
      await waitFor('both turns', [inviter, invitee], () => chainEnds(inviter) >= endsA + 2 && chainEnds(invitee) >= endsB + 2);
      return { own: invitee.ownAt - sentAt, forwarded: inviter.forwardedAt - sentAt };
    },
    close() {
      for (const m of [inviter, invitee]) m.ws.close();
    },
  };
}

export interface GroupFigures {
  own: { p50: number; p99: number };
  forwarded: { p50: number; p99: number };
}

/**
 * Two groups side by side, `turns` conversations each, taking turns one after the other (so both see the same load
 * on the machine): `one` with both members on one instance, `two` with the invitee on the other instance. The first
 * `warmup` conversations of each are not counted (the first turns across compile code the others do not run).
 */
export async function groupTurns(
  one: { inviter: string; invitee: string },
  two: { inviter: string; invitee: string },
  turns: number,
  warmup: number,
  knows: (uid: string) => Promise<boolean>,
): Promise<{ one: GroupFigures; two: GroupFigures }> {
  const groups = [await startGroup(one.inviter, one.invitee, knows), await startGroup(two.inviter, two.invitee, knows)];
  const samples = groups.map(() => ({ own: [] as number[], forwarded: [] as number[] }));
  for (let t = 0; t < warmup + turns; t++) {
    for (const [i, group] of groups.entries()) {
      const { own, forwarded } = await group.turn();
      if (t < warmup) continue;
      samples[i]!.own.push(own);
      samples[i]!.forwarded.push(forwarded);
    }
  }
  for (const g of groups) g.close();
  const figures = (s: { own: number[]; forwarded: number[] }): GroupFigures => ({
    own: { p50: percentile(s.own, 50), p99: percentile(s.own, 99) },
    forwarded: { p50: percentile(s.forwarded, 50), p99: percentile(s.forwarded, 99) },
  });
  return { one: figures(samples[0]!), two: figures(samples[1]!) };
}
