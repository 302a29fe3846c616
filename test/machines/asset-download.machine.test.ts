import { createActor, fromPromise, SimulatedClock } from 'xstate';
import { assetDownloadMachine, type AssetDownloadInput, type InstallRequest, type InstallResult, type ModelInstallRequest } from '../../machines/asset-download.machine.js';

/** machines/asset-download.machine.ts with a fake `install` under the test's control, on a simulated clock. */

const REQUEST: InstallRequest = {
  url: 'https://example.invalid/client.zip',
  manifest: { files: [] } as unknown as InstallRequest['manifest'],
  target: '/srv/frontend',
};

function download(deadlineMs = 1500) {
  const installs: Array<{ input: InstallRequest | ModelInstallRequest; signal: AbortSignal; resolve: (r: InstallResult) => void; reject: (e: unknown) => void }> = [];
  const machine = assetDownloadMachine.provide({
    actors: {
      install: fromPromise<InstallResult, InstallRequest | ModelInstallRequest>(
        ({ input, signal }) => new Promise((resolve, reject) => installs.push({ input, signal, resolve, reject })),
      ),
    },
  });
  const clock = new SimulatedClock();
  const input: AssetDownloadInput = { title: 'web client', request: REQUEST, deadlineMs };
  const actor = createActor(machine, { input, clock }).start();
  return { actor, clock, installs };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('asset download (one first-start download, bounded)', () => {
  test('the install is given the request; what it installed is the output', async () => {
    const d = download();
    expect(d.actor.getSnapshot().value).toBe('downloading');
    expect(d.installs.map((i) => i.input)).toEqual([REQUEST]);
    d.installs[0]!.resolve({ files: 12, bytes: 3456 });
    await flush();
    expect(d.actor.getSnapshot().value).toBe('installed');
    expect(d.actor.getSnapshot().output).toEqual({ title: 'web client', installed: true, result: { files: 12, bytes: 3456 } });
  });

  test('an install that fails: failed, with its message for a person', async () => {
    const d = download();
    d.installs[0]!.reject(new Error('checksum mismatch for index.html'));
    await flush();
    expect(d.actor.getSnapshot().value).toBe('failed');
    expect(d.actor.getSnapshot().output).toEqual({ title: 'web client', installed: false, error: 'checksum mismatch for index.html' });
  });

  test('a rejection that is not an Error is said as it is', async () => {
    const d = download();
    d.installs[0]!.reject('disk full');
    await flush();
    expect(d.actor.getSnapshot().output).toEqual({ title: 'web client', installed: false, error: 'disk full' });
  });

  test('the deadline: still downloading a millisecond before it; at it, failed and the install aborted', () => {
    const d = download(1500);
    d.clock.increment(1499);
    expect(d.actor.getSnapshot().value).toBe('downloading');
    expect(d.installs[0]!.signal.aborted).toBe(false);
    d.clock.increment(1);
    expect(d.actor.getSnapshot().value).toBe('failed');
    expect(d.installs[0]!.signal.aborted).toBe(true);
    expect(d.actor.getSnapshot().output).toEqual({ title: 'web client', installed: false, error: 'it did not finish within 1.5 s' });
  });

  test('a whole number of seconds is said without decimals; an install that finishes after the deadline changes nothing', async () => {
    const d = download(120_000);
    d.clock.increment(120_000);
    d.installs[0]!.resolve({ files: 1, bytes: 1 });
    await flush();
    expect(d.actor.getSnapshot().output).toEqual({ title: 'web client', installed: false, error: 'it did not finish within 120 s' });
  });

  test('stopping the download (Ctrl-C) aborts the install; a finished download leaves no timer behind', async () => {
    const stopped = download();
    stopped.actor.stop();
    expect(stopped.installs[0]!.signal.aborted).toBe(true);

    const done = download(1500);
    done.installs[0]!.resolve({ files: 1, bytes: 1 });
    await flush();
    done.clock.increment(10_000);
    expect(done.actor.getSnapshot().value).toBe('installed');
  });
});
