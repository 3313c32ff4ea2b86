import pino, { type DestinationStream, type Logger } from 'pino';
import { currentCorrelationId } from './correlation';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: string;
  pretty?: boolean;
  /** Strings replaced by [REDACTED] in every line, whatever field they hide in. */
  secrets?: string[];
  /** Where lines go; stdout by default. Tests pass a collector. */
  destination?: DestinationStream;
  /** A second destination (LOG_FILE, see openLogFile): every line goes to both, scrubbed alike. */
  file?: DestinationStream;
  name?: string;
}

/**
 * JSON logs with the current correlation ID on every line. Secrets are scrubbed
 * from the serialized line itself, so an error message or a URL that happens to
 * embed the bot token is caught too.
 */
export function createLogger(options: LoggerOptions): Logger {
  const secrets = options.secrets ?? [];
  const console = options.destination ?? (options.pretty ? prettyStream() : pino.destination({ sync: true }));
  const file = options.file;
  // The file gets the JSON line, even when the console shows it pretty.
  const target: DestinationStream = file ? { write: (line: string) => (console.write(line), file.write(line)) } : console;
  const destination = redactingStream(target, secrets);
  return pino(
    {
      level: options.level,
      name: options.name,
      base: { pid: process.pid },
      mixin() {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlationId } : {};
      },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination,
  );
}

/**
 * Secrets shorter than this are not searched for in free text: they would blank
 * out ordinary words. Inside a URL a password of any length is still caught, by
 * its place (see redactUrlPasswords).
 */
export const MIN_REDACTED_LENGTH = 8;

/** `text` with every secret (of MIN_REDACTED_LENGTH or more), and the password of every `scheme://user:password@host` in it, replaced. */
export function redact(text: string, secrets: string[]): string {
  let out = redactUrlPasswords(text);
  for (const secret of secrets) if (secret.length >= MIN_REDACTED_LENGTH) out = out.split(secret).join('[REDACTED]');
  return out;
}

const AUTHORITY_END = new Set(['/', '?', '#', '"', "'", '<', '>', '\\', '`', ' ', '\t', '\n', '\r']);

/**
 * Replaces the password of every URL written with credentials. Linear: each
 * authority is scanned once, and the search for the next URL goes on from its end.
 */
export function redactUrlPasswords(text: string): string {
  let out = '';
  let copied = 0;
  for (let mark = text.indexOf('://'); mark !== -1;) {
    const start = mark + 3;
    let end = start;
    let at = -1;
    let colon = -1;
    for (; end < text.length && !AUTHORITY_END.has(text[end]!); end++) {
      if (text[end] === '@') at = end;
      else if (text[end] === ':' && colon === -1) colon = end;
    }
    if (colon !== -1 && colon < at) {
      out += `${text.slice(copied, colon + 1)}[REDACTED]`;
      copied = at;
    }
    // The next "://" may start on the authority's last character ("a://b://...").
    mark = text.indexOf('://', Math.max(end - 1, start));
  }
  return out + text.slice(copied);
}

function redactingStream(target: DestinationStream, secrets: string[]): DestinationStream {
  return { write: (line: string) => target.write(redact(line, secrets)) };
}

function prettyStream(): DestinationStream {
  // Loaded lazily: pretty output is opt-in, colour-free so it reads well in any terminal.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as (opts: object) => DestinationStream;
  return pretty({ colorize: false, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

/** Collects log lines in memory, for tests that assert on what was logged. */
export class LogCollector implements DestinationStream {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  entries(): Array<Record<string, unknown>> {
    return this.lines.flatMap((l) => l.split('\n').filter(Boolean)).map((l) => JSON.parse(l));
  }
}
