import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './config-error.js';
import { describeIssue } from './describe-issue.js';

/** A YAML file after `${ENV}` substitution, with enough position information to name lines in errors. */
export interface YamlSource {
  file: string;
  data: unknown;
  lineOf(path: ReadonlyArray<PropertyKey>): number | undefined;
}

/** Upstream reads config files as UTF-8 and falls back to Chinese legacy encodings; so do we. */
export function decodeConfigText(bytes: Uint8Array, file: string): string {
  for (const encoding of ['utf-8', 'gbk']) {
    try {
      return new TextDecoder(encoding, { fatal: true, ignoreBOM: false }).decode(bytes);
    } catch {
      // try the next encoding
    }
  }
  throw new ConfigError(file, '', 'the file is neither UTF-8 nor GBK text; save it as UTF-8');
}

/** `${NAME}` becomes the environment variable's value; an unset variable leaves the text as it is (as upstream). */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\$\{(\w+)\}/g, (whole, name: string) => env[name] ?? whole);
}

export function parseYamlText(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
    throw new ConfigError(file, '', `not valid YAML: ${err.message.split('\n')[0]}`, line);
  }
  return {
    file,
    data: doc.toJS({ maxAliasCount: 1000 }) as unknown,
    lineOf(path) {
      // The deepest node that exists on the path: a missing key is reported at its parent.
      for (let depth = path.length; depth >= 0; depth--) {
        const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as unknown[], true);
        const range = (node as { range?: [number, number, number] } | undefined)?.range;
        if (range) return lineCounter.linePos(range[0]).line;
      }
      return undefined;
    },
  };
}

/** How a file is named in messages: relative to the working directory when inside it (no server paths leak to clients). */
export function displayPath(root: string, file: string): string {
  const rel = path.relative(root, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

export async function readYamlFile(file: string, options: { root: string; env?: NodeJS.ProcessEnv }): Promise<YamlSource> {
  const shown = displayPath(options.root, file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(shown, '', code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(err)})`);
  }
  return parseYamlText(substituteEnv(decodeConfigText(bytes, shown), options.env ?? process.env), shown);
}

/** Validates `data` (or a part of it at `prefix`) and turns the first zod issue into a ConfigError naming file, key and line. */
export function validateWith<S extends z.ZodType>(
  schema: S,
  source: YamlSource,
  data: unknown = source.data,
  prefix: ReadonlyArray<PropertyKey> = [],
): z.output<S> {
  const result = schema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [...prefix, ...issue.path];
  throw new ConfigError(source.file, path.map(String).join('.'), describeIssue(issue), source.lineOf(path));
}
