import { setTimeout as wait } from 'node:timers/promises';
import { createClient } from '@redis/client';
import { fromCallback, type ActorSystem, type EventObject } from 'xstate';
import type { ClusterEvent } from '../../machines/cluster.machine.js';
import type { Logger } from '../observability/logger.js';

/** Reconnection backoff: 200 ms doubling, at most 5 s between tries, for as long as the server runs. */
const reconnectDelay = (retries: number) => Math.min(200 * 2 ** retries, 5000);

const newClient = (url: string) => createClient({ url, disableOfflineQueue: true, socket: { connectTimeout: 2000, reconnectStrategy: reconnectDelay } });
type Client = ReturnType<typeof newClient>;

/**
 * The Redis client as the cluster's features reach it. It holds a reference only: the client belongs to the cluster
 * actor's `redis` child (below). Commands fail at once while Redis is not answering (no offline queue: a request
 * waiting for Redis would wait without a bound), with ClusterUnavailable.
 */
export class RedisLink {
  private client: Client | null = null;
  private down = 'Redis is not connected yet';
  private stopped = new AbortController();

  attach(client: Client): void {
    this.client = client;
    if (this.stopped.signal.aborted) this.stopped = new AbortController();
  }

  setUp(up: boolean, why = ''): void {
    this.down = up ? '' : why;
  }

  detach(why: string): void {
    this.client = null;
    this.down = why;
    this.stopped.abort(new ClusterUnavailable(why));
  }

  /**
   * A pause between two tries of a command (a lock another instance holds). Its timer belongs to the actor that owns
   * the client: it ends, with ClusterUnavailable, when that actor stops.
   */
  async pause(ms: number): Promise<void> {
    const { signal } = this.stopped;
    try {
      await wait(ms, undefined, { signal });
    } catch {
      throw signal.reason instanceof Error ? signal.reason : new ClusterUnavailable('the server is stopping');
    }
  }

  /** The client, while Redis answers. */
  ready(): Client {
    if (!this.client || this.down) throw new ClusterUnavailable(this.down || 'Redis is not connected');
    return this.client;
  }
}

/**
 * A command nobody waits for (a publication, a record the next renewal writes again): null, with nothing sent, while
 * Redis does not answer; otherwise its result, or undefined if it failed. It never throws.
 */
export function bestEffort<T>(link: RedisLink, command: (client: Client) => Promise<T>): Promise<T | undefined> | null {
  try {
    return command(link.ready()).catch(() => undefined);
  } catch {
    return null;
  }
}

/** A cross-instance feature while Redis is unreachable: answered with the code `cluster_unavailable`. */
export class ClusterUnavailable extends Error {
  readonly code = 'cluster_unavailable';
}

/** A channel's reader: each message, with the actor system to deliver it to (the proxy's actors are found there). */
export type ChannelListener = (message: string, system: ActorSystem<any>) => void;

/**
 * The cluster machine's `redisConnection`: one client, reconnecting by itself; reports up and down. With `channels`,
 * a second connection (Redis gives a subscriber a connection of its own) listens to them, subscribed again by the
 * client after each reconnection.
 */
export function createRedisConnectionActor(link: RedisLink, url: string, logger: Logger, channels: Record<string, ChannelListener> = {}) {
  return fromCallback<EventObject>(({ sendBack, system }) => {
    const report = (event: ClusterEvent) => sendBack(event);
    const client = newClient(url);
    link.attach(client);
    let wasUp = false;
    // Said once per outage (and once if Redis cannot be reached from the start): the client retries by itself.
    let saidDown = false;
    const down = (why: string) => {
      link.setUp(false, why);
      if (!saidDown) logger.warn(`cluster: Redis at ${url} is not answering (${why}); retrying; sessions go on, what crosses instances waits for it`);
      saidDown = true;
      wasUp = false;
      report({ type: 'redis.down', message: why });
    };
    client.on('ready', () => {
      link.setUp(true);
      if (!wasUp) logger.info(`cluster: connected to Redis at ${url}`);
      wasUp = true;
      saidDown = false;
      report({ type: 'redis.up' });
    });
    client.on('error', (err: Error) => down(err.message || String(err)));
    client.on('end', () => down('the connection ended'));
    client.connect().catch((err: Error) => down(err.message));
    const subscriber = Object.keys(channels).length > 0 ? client.duplicate() : undefined;
    if (subscriber) {
      // Its failures are the main client's to report.
      subscriber.on('error', () => undefined);
      subscriber
        .connect()
        .then(() => Promise.all(Object.entries(channels).map(([channel, listener]) => subscriber.subscribe(channel, (message: string) => listener(message, system)))))
        .catch(() => undefined);
    }
    return () => {
      link.detach('the server is stopping');
      client.destroy();
      subscriber?.destroy();
    };
  });
}
