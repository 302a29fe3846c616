/**
 * bench:cluster's floor for a group turn across instances: what Redis alone costs on this machine for the two hops
 * a turn takes before it starts (the member's instance to the group's, and back). This process publishes, an echo
 * process (this file, run with `echo`) answers on another channel, each waiting idle in between as the instances do.
 * No server code is on the path: node-redis, Redis and the wake-ups of three processes.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient } from '@redis/client';
import { percentile } from './bench-utils.js';

const PING = 'vas-bench:floor:ping';
const PONG = 'vas-bench:floor:pong';

async function echo(url: string) {
  const publisher = createClient({ url });
  await publisher.connect();
  const subscriber = publisher.duplicate();
  await subscriber.connect();
  await subscriber.subscribe(PING, (message) => void publisher.publish(PONG, message));
  process.send!('ready');
  process.on('disconnect', () => process.exit(0));
}

/** `count` round trips of a `bytes`-long message, one every `gapMs`: p50 and p99 in ms. */
export async function redisFloor(url: string, count: number, gapMs: number, bytes = 300) {
  const file = fileURLToPath(import.meta.url);
  const child = fork(file, ['echo', url], { execArgv: file.endsWith('.ts') ? ['--import', 'tsx'] : [] });
  await new Promise((resolve) => child.once('message', resolve));
  const publisher = createClient({ url });
  await publisher.connect();
  const subscriber = publisher.duplicate();
  await subscriber.connect();
  let answered: (() => void) | null = null;
  await subscriber.subscribe(PONG, () => answered?.());
  const samples: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      const sentAt = performance.now();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('bench:cluster: the echo process did not answer within 5 s')), 5000);
        answered = () => {
          clearTimeout(timer);
          resolve();
        };
        void publisher.publish(PING, 'x'.repeat(bytes));
      });
      samples.push(performance.now() - sentAt);
    }
  } finally {
    publisher.destroy();
    subscriber.destroy();
    child.kill();
  }
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

if (process.argv[2] === 'echo') await echo(process.argv[3]!);
