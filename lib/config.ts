import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { z } from 'zod';
import { parseAllowedHosts } from '../domain/downloads/destinations';
import { VIDEO_CONTAINERS, VIDEO_QUALITIES, type VideoQuality } from '../domain/downloads/options';

/**
 * Every setting the bot, the worker and the tools read, in one validated schema.
 * `.env.example` documents each variable; keep the two in step (a unit test checks).
 */

// A bot token's shape: bot ID, colon, secret. Anything like it is never echoed.
const TOKEN_SHAPE = /\d{3,15}:[A-Za-z0-9_-]{20,}/;

/** How a bad value is named in a config error: short harmless values as written, anything secret-like only by its length. */
function shownValue(value: string): string {
  return value.length <= 24 && !TOKEN_SHAPE.test(value) && !value.includes(':') && !value.includes('@')
    ? JSON.stringify(value)
    : `(a ${value.length}-character value, not shown)`;
}

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const positiveNumber = z.coerce
  .number({ error: 'must be a number' })
  .refine((n) => Number.isFinite(n) && n > 0, { error: 'must be a number above 0' });

const nonNegativeNumber = z.coerce
  .number({ error: 'must be a number' })
  .refine((n) => Number.isFinite(n) && n >= 0, { error: 'must be 0 or more' });

const boolean = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const adminIds = z.string({ error: 'is required: comma-separated Telegram user IDs' }).transform((value, ctx) => {
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one Telegram user ID' });
    return z.NEVER;
  }
  const bad = parts.filter((p) => !/^\d{1,15}$/.test(p));
  if (bad.length > 0) {
    ctx.addIssue({ code: 'custom', message: `has entries that are not user IDs: ${bad.map(shownValue).join(', ')}` });
    return z.NEVER;
  }
  return parts.map(Number);
});

const url = (protocols: string[], example: string) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { error: `must be a URL like ${example}` },
  );

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** A size such as `4GB`, `500M`, `1.5G` or a plain number of bytes; units are binary (1 GB = 1024³ bytes), as in yt-dlp. */
const byteSize = z.string().transform((value, ctx) => {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(value.trim());
  const bytes = match ? Math.floor(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!) : NaN;
  if (!(bytes >= 1024 && Number.isSafeInteger(bytes))) {
    ctx.addIssue({ code: 'custom', message: 'must be a size of at least 1 KB, like 4GB, 500MB or 1073741824' });
    return z.NEVER;
  }
  return bytes;
});

const allowedHosts = z.string().transform((value, ctx) => {
  const parsed = parseAllowedHosts(value);
  if (parsed.ok) return parsed.hosts;
  ctx.addIssue({
    code: 'custom',
    message: `has entries that are not host names, IP addresses or CIDR ranges: ${parsed.bad.map(shownValue).join(', ')}`,
  });
  return z.NEVER;
});

const videoQuality = z
  .enum(['best', ...VIDEO_QUALITIES.map(String)] as [string, ...string[]], {
    error: `must be best or one of ${VIDEO_QUALITIES.join(', ')} (lines)`,
  })
  .default('best')
  // null: no cap ("best"), as a setting with a default rather than an unset one.
  .transform((value) => (value === 'best' ? null : (Number(value) as VideoQuality)));

const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, { error: 'must be host:port, like 127.0.0.1:7233' });

const taskQueue = z.string().regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'must be a task queue name (letters, digits, . _ -)' });

export const configSchema = z.object({
  TELEGRAM_BOT_TOKEN: z
    .string({ error: 'is required: the token @BotFather gave you' })
    // Never echo the value: the message names the expected shape only.
    .regex(/^\d{3,15}:[A-Za-z0-9_-]{20,}$/, { error: 'does not look like a bot token (digits:letters)' })
    // Required by the bot only (parseConfig checks it); the worker, the API and the ops CLI run without it.
    .optional(),
  TELEGRAM_API_ROOT: url(['http:', 'https:'], 'https://api.telegram.org').default('https://api.telegram.org'),
  TELEGRAM_UPLOAD_LIMIT_MB: integer(0, 2000).default(50),
  ADMIN_IDS: adminIds.optional(),
  DATABASE_URL: url(['postgres:', 'postgresql:'], 'postgresql://user@host:5432/db').default('postgresql://postgres@127.0.0.1:5432/mediadl'),
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://127.0.0.1:6379/0').default('redis://127.0.0.1:6379/0'),
  REDIS_KEY_PREFIX: z.string().max(100).default('mediadl:'),
  TEMPORAL_ADDRESS: hostPort.default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, { error: 'must be a namespace name' })
    .default('default'),
  TEMPORAL_UI_PORT: integer(1, 65535).default(8233),
  TEMPORAL_UI_URL: url(['http:', 'https:'], 'https://temporal.example.com').optional(),
  TEMPORAL_CLI_PATH: z.string().optional(),
  TEMPORAL_DEV_DB_FILE: z.string().min(1).default('.data/temporal.db'),
  WORKFLOW_BUNDLE: z.string().min(1).optional(),
  TASK_QUEUE: taskQueue.default('media'),
  DOWNLOAD_TASK_QUEUE: taskQueue.default('media-downloads'),
  DOWNLOAD_DIR: z.string().min(1).default('./downloads'),
  MAX_CONCURRENT: integer(1, 256).default(8),
  WORKFLOW_THREADS: integer(1, 16).default(2),
  MAX_RETRIES: integer(0, 100).default(5),
  RETRY_BASE_SECONDS: positiveNumber.default(2),
  RETRY_MAX_SECONDS: positiveNumber.default(600),
  SOCKET_TIMEOUT: integer(1, 3600).default(30),
  MIN_DISK_SPACE_GB: nonNegativeNumber.default(1),
  DISK_RECHECK_SECONDS: positiveNumber.default(60),
  DISK_WAIT_HOURS: positiveNumber.default(72),
  DOWNLOAD_TIMEOUT_MINUTES: positiveNumber.default(360),
  HEARTBEAT_TIMEOUT_SECONDS: positiveNumber.default(60),
  YTDLP_PATH: z.string().min(1).default('yt-dlp'),
  MAX_FILE_SIZE: byteSize.default(4 * 1024 ** 3),
  MAX_VIDEO_QUALITY: videoQuality,
  PREFERRED_FORMAT: z.enum(VIDEO_CONTAINERS, { error: `must be one of ${VIDEO_CONTAINERS.join(', ')}` }).optional(),
  SKIP_HLS: boolean.default(false),
  SKIP_DASH: boolean.default(false),
  COOKIES_FILE: z.string().min(1).optional(),
  DIRECT_SOURCE: boolean.default(true),
  USE_ARIA2C: boolean.default(false),
  ARIA2C_CONNECTIONS: integer(1, 16).default(8),
  MAX_PLAYLIST_VIDEOS: integer(1, 1000).default(300),
  PLAYLIST_PARALLEL: integer(1, 200).default(20),
  MAX_URLS_PER_MESSAGE: integer(1, 1000).default(50),
  MAX_URL_LENGTH: integer(32, 65536).default(2048),
  MAX_TXT_BYTES: byteSize.default(1024 ** 2),
  MAX_URLS_PER_FILE: integer(1, 10000).default(1000),
  MAX_USER_ACTIVE: integer(0, 10000).default(3),
  RATE_LIMIT_LINKS: integer(0, 100000).default(20),
  RATE_LIMIT_WINDOW: integer(1, 86400).default(60),
  TRIAL_DAILY_DOWNLOADS: integer(0, 10000).default(5),
  TRIAL_MAX_FILE_SIZE: byteSize.default(200 * 1024 ** 2),
  API_TOKEN: z
    .string()
    .min(24, { error: 'must be at least 24 characters (make one with: openssl rand -hex 32)' })
    .regex(/^[\x21-\x7e]+$/, { error: 'must be printable characters without spaces' })
    .optional(),
  API_HOST: z.string().min(1).default('127.0.0.1'),
  API_PORT: integer(0, 65535).default(8080),
  WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  WORKER_METRICS_PORT: integer(0, 65535).default(9464),
  MONITOR_JOURNAL_DIR: z.string().min(1).default('.data/attempts'),
  MONITOR_WEBHOOK_URL: url(['http:', 'https:'], 'https://alerts.example.com/hook').optional(),
  PUSHOVER_TOKEN: z.string().min(1).optional(),
  PUSHOVER_USER: z.string().min(1).optional(),
  PUSHOVER_API_URL: url(['http:', 'https:'], 'https://api.pushover.net/1/messages.json').default(
    'https://api.pushover.net/1/messages.json',
  ),
  ALLOW_PRIVATE_URLS: boolean.default(false),
  ALLOWED_PRIVATE_HOSTS: allowedHosts.optional(),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  LOG_PRETTY: boolean.default(false),
  LOG_FILE: z.string().min(1).optional(),
});

type RawConfig = z.output<typeof configSchema>;

/** The bot's configuration: a token and owners are required. */
export interface Config extends Omit<RawConfig, 'TELEGRAM_BOT_TOKEN' | 'ADMIN_IDS'> {
  TELEGRAM_BOT_TOKEN: string;
  ADMIN_IDS: number[];
  /** DOWNLOAD_DIR resolved to an absolute path. */
  DOWNLOAD_DIR: string;
  /** COOKIES_FILE resolved to an absolute path. */
  COOKIES_FILE?: string;
  /** MONITOR_JOURNAL_DIR resolved to an absolute path. */
  MONITOR_JOURNAL_DIR: string;
}

/** Thrown when the environment does not describe a runnable configuration. */
export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    // Whatever variable a token was pasted into, its value never reaches the message.
    const scrubbed = problems.map((p) => p.replace(new RegExp(TOKEN_SHAPE.source, 'g'), '[REDACTED]'));
    super(`Invalid configuration:\n${scrubbed.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = scrubbed;
    this.name = 'ConfigError';
  }
}

type ConfigKey = keyof typeof configSchema.shape;

/** The values of `keys` in `env`, trimmed; empty strings count as unset. */
function cleanEnv(env: Record<string, string | undefined>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.flatMap((key) => (env[key]?.trim() ? [[key, env[key]!.trim()]] : [])));
}

/** One line per problem, naming the variable; values are never echoed, so secrets cannot leak. */
function describeIssues(issues: z.core.$ZodIssue[], cleaned: Record<string, string>): string[] {
  return issues.map((issue) => {
    const name = issue.path.join('.') || '(environment)';
    const message = issue.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : issue.message;
    return `${name} ${message}`;
  });
}

/**
 * The worker's configuration: without a bot (no TELEGRAM_BOT_TOKEN) it downloads
 * for the ops CLI and tells nobody on Telegram; no ADMIN_IDS means no owners.
 */
export type WorkerConfig = Omit<Config, 'TELEGRAM_BOT_TOKEN'> & { TELEGRAM_BOT_TOKEN?: string };

/** The settings only the bot cannot do without. */
const BOT_REQUIRED = ['TELEGRAM_BOT_TOKEN', 'ADMIN_IDS'] as const;

/**
 * Validates `env` and reports every problem at once. The bot's configuration
 * by default; `{ bot: false }` for processes that run without a bot.
 */
export function parseConfig(env: Record<string, string | undefined>, cwd?: string): Config;
export function parseConfig(env: Record<string, string | undefined>, cwd: string | undefined, o: { bot: false }): WorkerConfig;
export function parseConfig(
  env: Record<string, string | undefined>,
  cwd = process.cwd(),
  o: { bot: boolean } = { bot: true },
): WorkerConfig {
  const keys = Object.keys(configSchema.shape);
  const cleaned = cleanEnv(env, keys);
  const result = configSchema.safeParse(cleaned);
  const problems = result.success ? [] : describeIssues(result.error.issues, cleaned);
  if (o.bot) for (const key of BOT_REQUIRED) if (cleaned[key] === undefined) problems.push(`${key} is required`);
  // In the order of the schema (and of .env.example), whichever check found them.
  problems.sort((a, b) => keys.indexOf(a.split(' ')[0]!) - keys.indexOf(b.split(' ')[0]!));
  // Checked even when other variables are wrong, so that one run reports every problem.
  const taskQueue = configSchema.shape.TASK_QUEUE.safeParse(cleaned.TASK_QUEUE);
  const downloadTaskQueue = configSchema.shape.DOWNLOAD_TASK_QUEUE.safeParse(cleaned.DOWNLOAD_TASK_QUEUE);
  if (taskQueue.success && downloadTaskQueue.success && taskQueue.data === downloadTaskQueue.data) {
    problems.push('DOWNLOAD_TASK_QUEUE must differ from TASK_QUEUE so downloads cannot starve light work');
  }
  if (!result.success || problems.length > 0) throw new ConfigError(problems);
  return {
    ...result.data,
    ADMIN_IDS: result.data.ADMIN_IDS ?? [],
    DOWNLOAD_DIR: path.resolve(cwd, result.data.DOWNLOAD_DIR),
    MONITOR_JOURNAL_DIR: path.resolve(cwd, result.data.MONITOR_JOURNAL_DIR),
    ...(result.data.COOKIES_FILE ? { COOKIES_FILE: path.resolve(cwd, result.data.COOKIES_FILE) } : {}),
  };
}

/**
 * Validates only `keys`, with the same defaults and messages, for tools that need
 * a few settings (the Temporal dev server needs no bot token).
 */
export function parsePartialConfig<K extends ConfigKey>(env: Record<string, string | undefined>, keys: readonly K[]): Pick<RawConfig, K> {
  // zod's pick() cannot follow a generic key list; the mask is built from `keys` alone.
  const picked = configSchema.pick(Object.fromEntries(keys.map((k) => [k, true])) as never);
  const cleaned = cleanEnv(env, keys);
  const result = picked.safeParse(cleaned);
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues, cleaned));
  return result.data as unknown as Pick<RawConfig, K>;
}

/** Reads `.env` from `cwd` when present; variables already in the environment win. */
export function readEnv(cwd = process.cwd(), env: NodeJS.ProcessEnv = process.env): Record<string, string | undefined> {
  const file = path.join(cwd, '.env');
  const fromFile = fs.existsSync(file) ? parseEnv(fs.readFileSync(file, 'utf8')) : {};
  return { ...fromFile, ...env };
}

export function loadConfig(cwd?: string): Config;
export function loadConfig(cwd: string | undefined, o: { bot: false }): WorkerConfig;
export function loadConfig(cwd = process.cwd(), o: { bot: boolean } = { bot: true }): WorkerConfig {
  return o.bot ? parseConfig(readEnv(cwd), cwd) : parseConfig(readEnv(cwd), cwd, { bot: false });
}

/**
 * Entry points call this: on a bad configuration it prints one readable message
 * and exits, instead of a stack trace.
 */
export function loadConfigOrExit(cwd?: string): Config;
export function loadConfigOrExit(cwd: string | undefined, o: { bot: false }): WorkerConfig;
export function loadConfigOrExit(cwd = process.cwd(), o: { bot: boolean } = { bot: true }): WorkerConfig {
  try {
    return o.bot ? loadConfig(cwd) : loadConfig(cwd, { bot: false });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable and its default.\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** The settings that carry secrets, as raw text (a config that failed validation has no parsed form). */
export type SecretSettings = Partial<
  Record<
    | 'TELEGRAM_BOT_TOKEN'
    | 'TELEGRAM_API_ROOT'
    | 'DATABASE_URL'
    | 'REDIS_URL'
    | 'API_TOKEN'
    | 'PUSHOVER_TOKEN'
    | 'PUSHOVER_USER'
    | 'MONITOR_WEBHOOK_URL',
    string
  >
>;

/** The password of a URL, in the forms it can appear in (as written, decoded, with its user name). User names are not secret. */
function urlCredentials(value: string | undefined): string[] {
  if (!value) return [];
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return [];
  }
  const forms = (text: string) => {
    let decoded = text;
    try {
      decoded = decodeURIComponent(text);
    } catch {
      // Not valid percent-encoding: the raw form is all there is.
    }
    return [text, decoded];
  };
  return url.password ? [...forms(url.password), `${url.username}:${url.password}`] : [];
}

/**
 * Strings that must never reach a log line, an error or a reply: the bot token
 * (also URL-encoded, as it appears in request paths) and the credentials in the
 * Bot API root, DATABASE_URL and REDIS_URL. Works on raw values too, so that an
 * entry point can scrub its last-resort error even when the config is invalid.
 */
export function secretsOf(settings: SecretSettings): string[] {
  const token = settings.TELEGRAM_BOT_TOKEN?.trim();
  const tokenForms = token ? [token, encodeURIComponent(token), encodeURIComponent(token).replace(/%3A/g, '%3a')] : [];
  const credentials = [settings.TELEGRAM_API_ROOT, settings.DATABASE_URL, settings.REDIS_URL, settings.MONITOR_WEBHOOK_URL].flatMap(
    urlCredentials,
  );
  // Whole values: the API token and Pushover's keys, and a webhook address (such addresses often carry their secret in the path).
  const whole = [settings.API_TOKEN, settings.PUSHOVER_TOKEN, settings.PUSHOVER_USER, settings.MONITOR_WEBHOOK_URL]
    .map((v) => v?.trim())
    .filter((v): v is string => Boolean(v));
  credentials.push(...whole);
  // Log lines are JSON: a password with a quote or backslash appears there escaped.
  const escaped = credentials.map((secret) => JSON.stringify(secret).slice(1, -1));
  return [...new Set([...tokenForms, ...credentials, ...escaped].filter(Boolean))];
}
