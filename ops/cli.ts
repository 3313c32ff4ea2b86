import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * The ops CLI's plumbing: a typed command table, argument parsing, output for
 * people or (with --json) for scripts, and exit codes that mean something.
 */

export const EXIT = {
  ok: 0,
  /** The operation ran and says no: the download failed, the command was refused. */
  failed: 1,
  /** The command line is wrong: unknown command or option, a missing or bad argument. */
  usage: 2,
  /** The download named does not exist. */
  notFound: 3,
  /** Temporal or PostgreSQL did not answer. */
  unavailable: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Thrown for a bad command line: printed with the command's usage, exit 2. */
export class UsageError extends Error {}

/** Thrown when an operation cannot be carried out: printed, with its exit code. */
export class OpsFailure extends Error {
  constructor(
    message: string,
    readonly code: ExitCode,
  ) {
    super(message);
  }
}

export interface Output {
  json: boolean;
  /** A line for people (not printed with --json). */
  line(text?: string): void;
  /** The command's result: printed as JSON with --json, else by `human`. */
  result<T>(value: T, human: (value: T) => void): void;
}

export function output(json: boolean, write: (text: string) => void = (t) => process.stdout.write(t)): Output {
  return {
    json,
    line: (text = '') => {
      if (!json) write(`${text}\n`);
    },
    result: (value, human) => (json ? write(`${JSON.stringify(value, jsonValue, 2)}\n`) : human(value)),
  };
}

/** BigInt (database IDs) as strings, Dates as ISO text. */
function jsonValue(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec<Ctx> {
  name: string;
  /** How it is typed, for --help and usage errors. */
  usage: string;
  /** One line for the command list. */
  summary: string;
  /** More lines for `<command> --help`. */
  details?: string[];
  options: Options;
  /** Positional arguments: at least `min`, at most `max`. */
  positionals: { min: number; max: number };
  run(ctx: Ctx, args: { values: Record<string, string | boolean | undefined>; positionals: string[] }, out: Output): Promise<void>;
}

/** Parses `argv` (after the command name) for `spec`; throws UsageError naming what is wrong. */
export function parseCommandArgs<Ctx>(
  spec: CommandSpec<Ctx>,
  argv: string[],
): { values: Record<string, string | boolean | undefined>; positionals: string[]; json: boolean; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...spec.options, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/^.*?: /, '').split('\n')[0]! : String(err));
  }
  const { json, help, ...values } = parsed.values as Record<string, string | boolean | undefined>;
  if (!help) {
    const n = parsed.positionals.length;
    if (n < spec.positionals.min)
      throw new UsageError(`${spec.name} needs ${spec.positionals.min === 1 ? 'an argument' : 'more arguments'}`);
    if (n > spec.positionals.max) throw new UsageError(`${spec.name} takes at most ${spec.positionals.max} argument(s); got ${n}`);
  }
  return { values, positionals: parsed.positionals, json: json === true, help: help === true };
}

/** "24h", "30m", "7d", "90s" as milliseconds; throws UsageError otherwise. */
export function parseDuration(name: string, text: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!match) throw new UsageError(`--${name} takes a duration like 30m, 24h or 7d; got "${text.slice(0, 40)}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

/** A whole number option within [min, max]; throws UsageError otherwise. */
export function parseCount(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new UsageError(`--${name} takes a whole number from ${min} to ${max}; got "${text.slice(0, 40)}"`);
  return n;
}

export function helpOf<Ctx>(spec: CommandSpec<Ctx>): string {
  return [`usage: npm run ops -- ${spec.usage} [--json]`, '', spec.summary, ...(spec.details ? ['', ...spec.details] : [])].join('\n');
}

export function commandList<Ctx>(specs: readonly CommandSpec<Ctx>[]): string {
  const width = Math.max(...specs.map((s) => s.name.length));
  return [
    'usage: npm run ops -- <command> [options] [--json]',
    '',
    'commands:',
    ...specs.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`),
    '',
    'npm run ops -- <command> --help shows a command in detail. Exit codes: 0 done, 1 refused or failed,',
    '2 bad command line, 3 not found, 4 Temporal or PostgreSQL unavailable.',
  ].join('\n');
}
