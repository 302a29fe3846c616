/**
 * A configuration problem a person can act on: which file, which key, and what was expected there.
 * `keyPath` is dotted (`character_config.tts_config.tts_model`); `line` is 1-based when known.
 */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly keyPath: string,
    readonly problem: string,
    readonly line?: number,
  ) {
    super(`${file}: ${keyPath || '(top level)'}${line ? ` (line ${line})` : ''}: ${problem}`);
    this.name = 'ConfigError';
  }
}
