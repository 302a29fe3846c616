/**
 * npm run bench:cluster [-- --opens 500 --viewers 1000 --turns 20 --group-turns 200]
 *
 * More than one instance (docs/cluster.md): the page-open workload of bench:pageopen (connect, the four requests of
 * a page load, one text-input turn to first audio, close; its client and the fake engines each in a process of their
 * own) against one instance directly, then through HAProxy to that one instance (the hop alone), then against two
 * instances behind HAProxy. Every instance is a real process
 * (`npm start`'s entry point, compiled) in one working directory, with system_config.cluster on one Redis (each
 * writes its census, each write of a history takes its lock and is announced). One warm-up window of 50 opens each,
 * not counted. Printed: open-sequence and first-audio medians and p99s, and the ratio of two-behind-the-balancer to
 * one. On a 2-core machine both instances, HAProxy, Redis, the client and the fakes share the cores: the figure is
 * what the extra hop and the cluster's bookkeeping cost, not what a second machine adds.
 *
 * Then `/proxy-ws` fan-out (bench/cluster-proxy.ts): N viewers (default 1,000) of the one shared session, all on the
 * instance that runs it, then half on each instance.
 *
 * Then two two-member groups (bench/cluster-group.ts), taking turns: both members on one instance, and one on each;
 * the figure is what crossing instances adds to a group turn. Beside it, what Redis alone takes for the two hops
 * (bench/redis-floor.ts), the floor of that figure on this machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useFakeEngines } from '../test/helpers/engine-config.js';
import { haproxyPath, startHaproxy } from '../test/helpers/haproxy.js';
import { freePort } from '../test/helpers/free-port.js';
import { redisServerPath, startRedis } from '../test/helpers/redis-server.js';
import { createClient } from '@redis/client';
import { argNumber, percentile } from './bench-utils.js';
import { proxyFanOut } from './cluster-proxy.js';
import { groupTurns } from './cluster-group.js';
import { redisFloor } from './redis-floor.js';
import type { OpenSample } from './pageopen-client.js';
import { startPageOpenProcesses } from './pageopen-workload.js';

const WARMUP = 50;
const GROUP_WARMUP = 20;
/** The cluster's defaults (docs/cluster.md), so that the instances do the periodic Redis work a user's would. */
const LEASE_SECONDS = 10;
const CENSUS_SECONDS = 5;

function startInstance(root: string, port: number): Promise<ChildProcess> {
  const main = path.join(process.cwd(), 'dist-bench', 'src', 'main.js');
  const child = spawn(process.execPath, [main, '--port', String(port), '--host', '127.0.0.1', '--no-downloads'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString('utf8');
      if (/listening on http/.test(output)) resolve(child);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`instance on ${port} ended (${code}): ${output.slice(-1000)}`)));
  });
}

const row = (label: string, samples: OpenSample[]) => {
  const open = samples.map((s) => s.openMs);
  const audio = samples.map((s) => s.firstAudioMs);
  const f = (v: number) => `${v.toFixed(2).padStart(7)} ms`;
  console.log(`  ${label.padEnd(30)} open p50 ${f(percentile(open, 50))} p99 ${f(percentile(open, 99))}   first audio p50 ${f(percentile(audio, 50))} p99 ${f(percentile(audio, 99))}`);
  return { open: percentile(open, 50), audio: percentile(audio, 50) };
};

/** /proxy-ws fan-out: every viewer on the owner, then half on each instance. */
async function proxyRows(redisUrl: string, ports: number[], instances: ChildProcess[], viewers: number, turns: number) {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  let holder: string | null = null;
  // A free lease is taken once an instance's link has been up a whole lease.
  const deadline = Date.now() + 3 * LEASE_SECONDS * 1000;
  while (!holder && Date.now() < deadline) {
    holder = await redis.get('vas:proxy:lease');
    if (!holder) await new Promise((r) => setTimeout(r, 100));
  }
  redis.destroy();
  const owner = instances.findIndex((i) => holder?.endsWith(`-${i.pid}`));
  if (owner < 0) throw new Error(`bench:cluster: no instance holds the proxy lease (holder: ${holder})`);
  const url = (i: number) => `ws://127.0.0.1:${ports[i]}/proxy-ws`;
  const f = (v: number) => `${v.toFixed(2).padStart(7)} ms`;
  const one = await proxyFanOut(url(owner), url(1 - owner), viewers, viewers, turns);
  console.log(`  /proxy-ws, ${viewers} viewers on the owner        send → first audio at the last viewer p50 ${f(one.all.p50)} p99 ${f(one.all.p99)}`);
  const two = await proxyFanOut(url(owner), url(1 - owner), viewers, viewers / 2, turns);
  console.log(`  /proxy-ws, ${viewers / 2} + ${viewers / 2} over two instances   send → first audio at the last viewer p50 ${f(two.all.p50)} p99 ${f(two.all.p99)}` +
    `  (owner's ${f(two.owner.p50)}, other's ${f(two.follower!.p50)})`);
  console.log(`  /proxy-ws two instances / one (medians, ${turns} turns each): ${(two.all.p50 / one.all.p50).toFixed(2)}`);
}

/** Two-member group turns: both members on one instance, and one on each, turn about. */
async function groupRows(redisUrl: string, ports: number[], turns: number) {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  // The inviter's instance learns where the invitee is from the census (written every census_every_seconds).
  const knows = async (uid: string) => (await redis.keys('vas:census:*')).length > 0 && JSON.stringify(await redis.mGet(await redis.keys('vas:census:*'))).includes(uid);
  const url = (i: number) => `ws://127.0.0.1:${ports[i]}/client-ws`;
  const f = (v: number) => `${v.toFixed(2).padStart(7)} ms`;
  // The census the inviter's instance read may be a period old: wait for one more before an invite across.
  const settled = async (uid: string) => (await knows(uid)) && (await new Promise((r) => setTimeout(r, CENSUS_SECONDS * 1000 + 500)).then(() => true));
  const { one, two } = await groupTurns({ inviter: url(0), invitee: url(0) }, { inviter: url(0), invitee: url(1) }, turns, GROUP_WARMUP, settled);
  redis.destroy();
  const floor = await redisFloor(redisUrl, turns, 50);
  console.log(`  group of two, both on one instance    first audio of the speaker p50 ${f(one.own.p50)} p99 ${f(one.own.p99)}   forwarded to the other p50 ${f(one.forwarded.p50)} p99 ${f(one.forwarded.p99)}`);
  console.log(`  group of two, one on each instance    first audio of the speaker p50 ${f(two.own.p50)} p99 ${f(two.own.p99)}   forwarded to the other p50 ${f(two.forwarded.p50)} p99 ${f(two.forwarded.p99)}`);
  console.log(`  group across instances, added (p50 / p99): speaker ${f(two.own.p50 - one.own.p50)} / ${f(two.own.p99 - one.own.p99)}, forwarded ${f(two.forwarded.p50 - one.forwarded.p50)} / ${f(two.forwarded.p99 - one.forwarded.p99)}`);
  console.log(`  Redis alone, the speaker's two hops (a publish and its answer between idle processes) p50 ${f(floor.p50)} p99 ${f(floor.p99)}`);
}

async function main() {
  if (!redisServerPath || !haproxyPath) {
    console.log('bench:cluster needs redis-server and haproxy on PATH (Debian packages redis-server, haproxy)');
    process.exitCode = 1;
    return;
  }
  const opens = argNumber('opens', 500);
  const processes = await startPageOpenProcesses();
  const redis = await startRedis();
  const root = mkdtempSync(path.join(os.tmpdir(), 'vas-cluster-bench-'));
  for (const f of ['conf.yaml', 'model_dict.json', 'characters']) cpSync(f, path.join(root, f), { recursive: true });
  useFakeEngines(root, processes.baseUrl, {
    'system_config.tts_concurrency': 3,
    'system_config.enable_proxy': true,
    'system_config.cluster': { redis_url: redis.url, proxy_lease_seconds: LEASE_SECONDS, census_every_seconds: CENSUS_SECONDS },
  });
  const ports = [await freePort(), await freePort()];
  const instances = await Promise.all(ports.map((p) => startInstance(root, p)));
  const balancer = await startHaproxy(ports);
  // The same balancer in front of one instance: the hop alone, apart from spreading the load.
  const hopOnly = await startHaproxy([ports[0]!]);
  try {
    const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
    console.log(`bench:cluster  node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'} (load average ${load}), ${opens} opens each way`);
    const direct = `ws://127.0.0.1:${ports[0]}/client-ws`;
    const balanced = `${balancer.url.replace('http', 'ws')}/client-ws`;
    await processes.run({ cmd: 'opens', url: direct, count: WARMUP });
    const one = row('one instance, direct', await processes.run({ cmd: 'opens', url: direct, count: opens }));
    const viaHop = `${hopOnly.url.replace('http', 'ws')}/client-ws`;
    await processes.run({ cmd: 'opens', url: viaHop, count: WARMUP });
    const hop = row('one instance behind HAProxy', await processes.run({ cmd: 'opens', url: viaHop, count: opens }));
    await processes.run({ cmd: 'opens', url: balanced, count: WARMUP });
    const two = row('two instances behind HAProxy', await processes.run({ cmd: 'opens', url: balanced, count: opens }));
    console.log(`  two behind HAProxy / one direct (medians): open ${(two.open / one.open).toFixed(2)}, first audio ${(two.audio / one.audio).toFixed(2)}`);
    console.log(`  two behind HAProxy / one behind HAProxy (medians): open ${(two.open / hop.open).toFixed(2)}, first audio ${(two.audio / hop.audio).toFixed(2)}`);
    await proxyRows(redis.url, ports, instances, argNumber('viewers', 1000), argNumber('turns', 20));
    await groupRows(redis.url, ports, argNumber('group-turns', 200));
  } finally {
    await balancer.stop();
    await hopOnly.stop();
    for (const i of instances) i.kill('SIGTERM');
    await redis.stop();
    processes.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
