import { parseArgs } from 'node:util';

export interface CliArgs {
  config: string;
  host?: string;
  port?: number;
  help: boolean;
  /** Skip the first-start downloads (also VAS_NO_DOWNLOADS=1 or system_config.first_start_downloads: false). */
  noDownloads: boolean;
  /** Fetch the web client and the sample model again, then exit (`npm run client:update`). */
  updateDownloads: boolean;
  /** Fetch the models the configuration uses that are missing, then exit (`npm run models:fetch`). */
  fetchModels: boolean;
}

export const USAGE = `Usage: vtuber-actor-server [--config conf.yaml] [--host HOST] [--port PORT]

  --config <path>  configuration file (default: conf.yaml in the working directory);
                   relative paths inside it resolve against the working directory
  --host <host>    overrides system_config.host
  --port <n>       overrides system_config.port; 0 picks a free port (the URL is logged)
  --no-downloads   do not fetch the web client (frontend/), the sample model or the configuration's models
                   (the local LLM and speech models) at the first start
  --update-downloads  fetch the web client and the sample model again (checked, then swapped in), and exit
  --fetch-models   fetch the models the configuration uses that are missing (LLM, speech), and exit
  -h, --help       this text`;

/** Throws an Error with a message meant for the user on a bad argument. */
export function parseCliArgs(argv: string[]): CliArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      'no-downloads': { type: 'boolean' },
      'update-downloads': { type: 'boolean' },
      'fetch-models': { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new Error(`--port expects a number from 0 to 65535, got "${values.port}"`);
  }
  if (values.host !== undefined && values.host.trim() === '') throw new Error('--host expects a host name or address');
  return {
    config: values.config ?? 'conf.yaml',
    host: values.host,
    port,
    help: values.help ?? false,
    noDownloads: values['no-downloads'] ?? false,
    updateDownloads: values['update-downloads'] ?? false,
    fetchModels: values['fetch-models'] ?? false,
  };
}
