import { Client, Connection } from '@temporalio/client';
import { DOWNLOADS_CLIENT_SETTINGS, DownloadsClient, downloadsSettings } from '../domain/downloads/client';
import { completedLookup } from '../domain/downloads/completed';
import { ConfigError, parsePartialConfig, readEnv, secretsOf } from '../lib/config';
import { createDb } from '../lib/db';
import { createLogger, redact } from '../lib/logger';
import { createTelegramApi } from '../lib/telegram';
import { commandList, EXIT, helpOf, OpsFailure, output, parseCommandArgs, UsageError } from './cli';
import { COMMANDS, operator, type OpsContext } from './commands';

/** What the CLI reads: the bot token only to tell subscribers of a replay (optional). */
const OPS_SETTINGS = [
  'TELEGRAM_API_ROOT',
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_UI_PORT',
  'TEMPORAL_UI_URL',
  ...DOWNLOADS_CLIENT_SETTINGS,
  'DOWNLOAD_DIR',
  'MAX_URLS_PER_MESSAGE',
  'MAX_URL_LENGTH',
  'ALLOW_PRIVATE_URLS',
  'ALLOWED_PRIVATE_HOSTS',
  'MAX_VIDEO_QUALITY',
  'PREFERRED_FORMAT',
  'MAX_TXT_BYTES',
  'MAX_URLS_PER_FILE',
  'MAX_USER_ACTIVE',
  'RATE_LIMIT_LINKS',
  'RATE_LIMIT_WINDOW',
  'TRIAL_DAILY_DOWNLOADS',
  'TRIAL_MAX_FILE_SIZE',
  'MAX_FILE_SIZE',
  'LOG_LEVEL',
] as const;

/** Errors that say a service did not answer (exit 4), rather than that the operation was wrong. */
function unavailable(err: unknown): boolean {
  // The SDK wraps gRPC's status in its own error ("Failed to count workflows", caused by "14 UNAVAILABLE").
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const text = e instanceof Error ? `${e.name} ${e.message} ${String((e as { code?: unknown }).code ?? '')}` : String(e);
    if (
      /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|Connection refused|Can't reach database|P1001|ConnectionRefused|Channel has been shut down/i.test(
        text,
      )
    )
      return true;
  }
  return false;
}

export interface OpsIo {
  /** The environment (and .env) the settings come from. */
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs one ops command; answers its exit code. The process entry point below, and tests, call it. */
export async function runOps(argv: string[], io: OpsIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(`${commandList(COMMANDS)}\n`);
    return name ? EXIT.ok : EXIT.usage;
  }
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) {
    io.stderr(`unknown command "${name.slice(0, 40)}"\n\n${commandList(COMMANDS)}\n`);
    return EXIT.usage;
  }
  let args;
  try {
    args = parseCommandArgs(spec, rest);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${err.message}\n\n${helpOf(spec)}\n`);
    return EXIT.usage;
  }
  if (args.help) {
    io.stdout(`${helpOf(spec)}\n`);
    return EXIT.ok;
  }

  let config;
  try {
    const env = io.env;
    // The bot token is optional here: without it a replay tells nobody on Telegram.
    const token = env.TELEGRAM_BOT_TOKEN?.trim() ? parsePartialConfig(env, ['TELEGRAM_BOT_TOKEN']) : { TELEGRAM_BOT_TOKEN: undefined };
    config = { ...parsePartialConfig(env, OPS_SETTINGS), ...token };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${err.message}\nSee .env.example for every variable and its default.\n`);
    return EXIT.usage;
  }
  const secrets = secretsOf(config);
  // Log lines (warnings) go to stderr, so stdout stays the command's output.
  const logger = createLogger({
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
    secrets,
    name: 'ops',
    destination: { write: (line: string) => io.stderr(line) },
  });
  const db = createDb(config.DATABASE_URL);
  const temporal = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
  const downloads = new DownloadsClient(temporal, downloadsSettings(config, 10_000), completedLookup(db, config.DOWNLOAD_DIR));
  const ui = (config.TEMPORAL_UI_URL ?? `http://127.0.0.1:${config.TEMPORAL_UI_PORT}`).replace(/\/+$/, '');
  const api = config.TELEGRAM_BOT_TOKEN ? createTelegramApi(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_ROOT) : null;
  const ctx: OpsContext = {
    db,
    temporal,
    downloads,
    intake: {
      settings: { ...config, ADMIN_IDS: [] },
      logger,
      // Never reached for an operator (owner rights); present because intake's type asks for it.
      limits: {
        take: async () => ({ ok: true }),
        giveBack: async () => undefined,
      } as never,
    },
    logger,
    uiUrl: (workflowId) => `${ui}/namespaces/${encodeURIComponent(config.TEMPORAL_NAMESPACE)}/workflows/${encodeURIComponent(workflowId)}`,
    tell: api
      ? async (chatId, replyTo, text) => {
          await api.sendMessage(chatId, text, { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } });
        }
      : null,
    actor: operator(),
  };
  const out = output(args.json, io.stdout);
  try {
    await spec.run(ctx, args, out);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`${err.message}\n\n${helpOf(spec)}\n`);
      return EXIT.usage;
    }
    const code = err instanceof OpsFailure ? err.code : unavailable(err) ? EXIT.unavailable : EXIT.failed;
    const message = redact(err instanceof Error ? (err.message.trim().split('\n').filter(Boolean)[0] ?? err.name) : String(err), secrets);
    if (args.json) io.stdout(`${JSON.stringify({ error: message, exitCode: code })}\n`);
    io.stderr(`${name}: ${code === EXIT.unavailable ? `Temporal or PostgreSQL did not answer: ${message}` : message}\n`);
    if (code !== EXIT.unavailable && !(err instanceof OpsFailure)) logger.error({ err }, 'ops command failed');
    return code;
  } finally {
    await downloads.settle();
    await temporal.connection.close().catch(() => undefined);
    await db.$disconnect().catch(() => undefined);
  }
}

if (require.main === module) {
  runOps(process.argv.slice(2), {
    env: readEnv(),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`ops failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(EXIT.failed);
    },
  );
}
