import { z } from 'zod';
import { describeIssue } from '../config/describe-issue.js';
import { errorText } from '../../machines/error-text.js';

/**
 * One table per kind of engine (LLM, agent, TTS, ASR, translator): each provider's name, the schema of its block
 * (upstream's keys, zod) and the factory that builds it from the parsed block. The factories build through it, the
 * config loader checks a chosen name against it, the "not built" messages list from it, and a test holds
 * docs/providers.md to it. A name upstream has that this server does not build is listed as such: choosing it is a
 * clear error naming the key, never another engine standing in.
 */

export interface Provider<Context, Built> {
  /** The block's schema; the factory gets its output. */
  readonly schema: z.ZodType;
  /** `name` is the row's own (one factory may serve several names). */
  readonly create: (options: never, context: Context, name: string) => Built;
  /** Said after the name where the choices are listed ("with an llm_provider"). */
  readonly hint?: string;
  /** Upstream's other spelling of the block's key (`gpt_sovits` for `gpt_sovits_tts`). */
  readonly blockAlias?: string;
}

/** A row of a table: `create` is typed by its schema. */
export function provider<S extends z.ZodType, Context, Built>(
  schema: S,
  create: (options: z.output<S>, context: Context, name: string) => Built,
  extra: { hint?: string; blockAlias?: string } = {},
): Provider<Context, Built> {
  return { schema, create: create as Provider<Context, Built>['create'], ...extra };
}

export interface ProviderRegistry<Context, Built> {
  /** How docs/providers.md names the kind in its table. */
  readonly kind: 'LLM' | 'agent' | 'TTS' | 'ASR' | 'translation';
  /** The key that chooses the provider, from the character config (`character_config.tts_config.tts_model`). */
  readonly key: string;
  /** Where the providers' blocks are, each under its name (`character_config.tts_config`). */
  readonly blocks: string;
  /** What a character does without it, said in the "not built" message ("replies are shown without speech"). */
  readonly without?: string;
  readonly built: Readonly<Record<string, Provider<Context, Built>>>;
  /** Upstream's providers of this kind that this server does not build. */
  readonly notBuilt: readonly string[];
}

export type AnyProviderRegistry = ProviderRegistry<never, unknown>;

export const builtNames = (registry: AnyProviderRegistry): string[] => Object.keys(registry.built);

/** Every name the key accepts: built here or not. */
export const knownNames = (registry: AnyProviderRegistry): string[] => [...builtNames(registry), ...registry.notBuilt];

export function builtProvider<Context, Built>(registry: ProviderRegistry<Context, Built>, name: string): Provider<Context, Built> | undefined {
  return Object.hasOwn(registry.built, name) ? registry.built[name] : undefined;
}

/** "a or b", "one of a, b, c", each with its hint. */
function choices(registry: AnyProviderRegistry): string {
  const names = Object.entries(registry.built).map(([name, row]) => (row.hint ? `${name} (${row.hint})` : name));
  return names.length === 2 ? `${names[0]} or ${names[1]}` : `one of ${names.join(', ')}`;
}

/** `<key> "<name>" is not built in this server, so <without>; choose one of …` */
export function notBuiltMessage(registry: AnyProviderRegistry, name: string): string {
  const without = registry.without ? `, so ${registry.without}` : '';
  return `${registry.key} "${name}" is not built in this server${without}; choose ${choices(registry)}`;
}

/** A provider block that does not validate: `path` is the full key from the character config, `problem` what is expected. */
export class ProviderConfigError extends Error {
  constructor(
    readonly path: string,
    readonly problem: string,
    /** The path is the full key (set where the block's own key is known); otherwise it is relative to the block. */
    readonly placed = false,
  ) {
    super(path ? `${path}: ${problem}` : problem);
    this.name = 'ProviderConfigError';
  }
}

const join = (...parts: ReadonlyArray<PropertyKey>) => parts.map(String).filter(Boolean).join('.');

/**
 * A failure while building a provider as a ProviderConfigError under `where` (the block's key): a zod issue names its
 * own key below it; any other error (a value the factory refuses) names the block.
 */
export function asProviderConfigError(err: unknown, where: string): ProviderConfigError {
  if (err instanceof ProviderConfigError) return err.placed ? err : new ProviderConfigError(join(where, err.path), err.problem, true);
  if (err instanceof z.ZodError) {
    const issue = err.issues[0]!;
    return new ProviderConfigError(join(where, ...issue.path), issue.message.replace(/^Invalid input: /, ''), true);
  }
  return new ProviderConfigError(where, errorText(err), true);
}

/** Validates `block` with `schema`; the first problem is thrown naming its key below `where` and what is expected. */
export function parseOptions<S extends z.ZodType>(schema: S, block: unknown, where: string): z.output<S> {
  const result = schema.safeParse(block ?? {}, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new ProviderConfigError(join(where, ...issue.path), describeIssue(issue), true);
}

/**
 * Builds `name` from its block (validated with its schema, then made by its factory); undefined when this server does
 * not build it. Every failure is a ProviderConfigError naming the key (`character_config.tts_config.x_tts.api_url`).
 */
export function buildProvider<Context, Built>(registry: ProviderRegistry<Context, Built>, name: string, block: unknown, context: Context): Built | undefined {
  const row = builtProvider(registry, name);
  if (!row) return undefined;
  const where = `${registry.blocks}.${name}`;
  const options = parseOptions(row.schema, block, where);
  try {
    return row.create(options as never, context, name);
  } catch (err) {
    throw asProviderConfigError(err, where);
  }
}

/** The block of `name` among a config's blocks (`tts_config`), by its key or upstream's other spelling of it. */
export function blockOf(registry: AnyProviderRegistry, name: string, blocks: Readonly<Record<string, unknown>>): unknown {
  const alias = builtProvider(registry, name)?.blockAlias;
  return blocks[name] ?? (alias ? blocks[alias] : undefined);
}
