import { loadConfigOrExit, secretsOf } from '../lib/config';
import { runEntryPoint } from '../lib/entry-point';
import { createDb } from '../lib/db';
import { createLogger, redactUrlPasswords } from '../lib/logger';
import { createRedis } from '../lib/redis';
import { connectTemporal } from '../lib/temporal-client';
import { ALLOWED_UPDATES, BOT_COMMANDS, createBot } from './create-bot';
import { DownloadsClient, downloadsSettings } from '../domain/downloads/client';
import { completedLookup } from '../domain/downloads/completed';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, secrets: secretsOf(config), name: 'bot' });
  const temporal = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, logger });
  const db = createDb(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'Redis connection problem'));
  const downloads = new DownloadsClient(temporal, downloadsSettings(config), completedLookup(db, config.DOWNLOAD_DIR));
  const bot = createBot(
    { settings: config, logger, downloads, redis },
    { token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT },
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'bot stopping');
    bot.stop().catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'bot did not stop cleanly'));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  await bot.api.setMyCommands(BOT_COMMANDS).catch((err: unknown) => {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not register bot commands');
  });
  // A stop asked for while starting up means: do not start polling at all.
  if (!stopping)
    await bot.start({
      allowed_updates: ALLOWED_UPDATES,
      onStart: (me) => logger.info({ username: me.username, apiRoot: redactUrlPasswords(config.TELEGRAM_API_ROOT) }, 'bot started'),
    });
  await temporal.connection.close();
  await db.$disconnect();
  redis.disconnect();
  logger.info('bot stopped');
}

runEntryPoint('bot', main);
