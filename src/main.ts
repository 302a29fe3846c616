import { parseCliArgs, USAGE } from './cli-args.js';

/**
 * The entry point (`npm start`): the arguments are read first, with nothing else loaded, so that `--help` and a bad
 * argument answer at once; then the server and everything it needs are loaded (src/cli-run.ts).
 */
async function main(): Promise<number | undefined> {
  let args;
  try {
    args = parseCliArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const { runServer } = await import('./cli-run.js');
  return runServer(args);
}

main().then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fatal: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
