import { progressBar } from '../../src/downloads/progress-bar.js';

function fakeStream(isTTY: boolean) {
  const written: string[] = [];
  return { stream: { isTTY, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream, written };
}

describe('the download progress bar', () => {
  test('in a terminal: one line redrawn with \\r, ending at 100 % and a newline', () => {
    const { stream, written } = fakeStream(true);
    const bar = progressBar('downloading the web client', stream)!;
    bar.update(0, 4 * 1048576);
    bar.update(4 * 1048576, 4 * 1048576);
    bar.finish();
    expect(written[0]).toBe(`\rdownloading the web client [${'-'.repeat(30)}]   0% 0.0/4.0 MB `);
    expect(written[written.length - 2]).toBe(`\rdownloading the web client [${'#'.repeat(30)}] 100% 4.0/4.0 MB `);
    expect(written[written.length - 1]).toBe('\n');
  });

  test('without a known size it shows the bytes received', () => {
    const { stream, written } = fakeStream(true);
    const bar = progressBar('downloading', stream)!;
    bar.update(1048576, undefined);
    expect(written).toEqual(['\rdownloading  1.0 MB ']);
  });

  test('not a terminal (a log file, a pipe): no bar at all', () => {
    const { stream, written } = fakeStream(false);
    expect(progressBar('downloading', stream)).toBeUndefined();
    expect(written).toEqual([]);
  });
});
