import { loadConfigOrExit, readEnv, secretsOf } from '../lib/config';
import { createDb } from '../lib/db';
import { createLogger, redact } from '../lib/logger';
import { createTelegramApi, telegramNotifier } from '../lib/telegram';
import { createActivities } from '../activities';
import { freeBytesOnDisk } from '../activities/disk';
import { createWorkers } from './create-workers';
import { installTemporalLogging } from './runtime-logging';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, secrets: secretsOf(config), name: 'worker' });
  installTemporalLogging(logger);
  const db = createDb(config.DATABASE_URL);
  const workers = await createWorkers(config, createActivities({
    db,
    telegram: telegramNotifier(createTelegramApi(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_ROOT)),
    logger,
    downloadDir: config.DOWNLOAD_DIR,
    minDiskSpaceGb: config.MIN_DISK_SPACE_GB,
    ytDlpPath: config.YTDLP_PATH,
    socketTimeoutSeconds: config.SOCKET_TIMEOUT,
    freeBytes: freeBytesOnDisk,
    heartbeatEveryMs: Math.min(3_000, (config.HEARTBEAT_TIMEOUT_SECONDS * 1000) / 3),
  }));
  // The SDK already shuts workers down gracefully on SIGINT/SIGTERM.
  logger.info(
    { taskQueue: config.TASK_QUEUE, downloadTaskQueue: config.DOWNLOAD_TASK_QUEUE, maxConcurrent: config.MAX_CONCURRENT, downloadDir: config.DOWNLOAD_DIR },
    'worker started',
  );
  try {
    await workers.run();
  } finally {
    await db.$disconnect();
    logger.info('worker stopped');
  }
}

main().catch((err: unknown) => {
  // Last resort: whatever the error says, the token is scrubbed from it.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`worker failed: ${redact(message, [readEnv().TELEGRAM_BOT_TOKEN?.trim() ?? ''])}\n`);
  process.exit(1);
});
