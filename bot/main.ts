import { loadConfigOrExit } from '../lib/config';
import { processLogger, runEntryPoint } from '../lib/entry-point';
import { createDb } from '../lib/db';
import { redactUrlPasswords } from '../lib/logger';
import { createRedis, redisReady } from '../lib/redis';
import { connectTemporal } from '../lib/temporal-client';
import { run, type RunnerHandle } from '@grammyjs/runner';
import { ALLOWED_UPDATES, createBot } from './create-bot';
import { CommandMenus } from './menus';
import { createBotServices } from './services';
import { DownloadsClient, downloadsSettings } from '../domain/downloads/client';
import { completedLookup } from '../domain/downloads/completed';

/** Longest a stop waits for the updates in hand to finish. */
const STOP_WAIT_MS = 30_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = await processLogger(config, 'bot');
  const temporal = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, logger });
  const db = createDb(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'Redis connection problem'));
  if (!(await redisReady(redis)))
    logger.error('Redis is not reachable: the bot runs without duplicate-update protection and per-user limits until it is');
  const downloads = new DownloadsClient(temporal, downloadsSettings(config), completedLookup(db, config.DOWNLOAD_DIR));
  const services = createBotServices({ settings: config, db, redis, downloads, logger });
  const { bot, progress } = createBot(services, { token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT });

  // A stop asked for while starting up means: do not start polling at all.
  let runner: RunnerHandle | null = null;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'bot stopping: no new updates; finishing those in hand');
    runner
      ?.stop()
      .catch((err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'bot did not stop cleanly'));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));

  await bot.init();
  await new CommandMenus(bot.api, services.access, config.ADMIN_IDS, logger).setAll().catch((err: unknown) => {
    logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not register the command menus');
  });
  if (!stopping) {
    // Different chats are handled at once; each chat's updates in order (sequentialize).
    // silent: the runner would print failed getUpdates calls itself, bypassing the
    // redacting logger; create-bot logs them instead.
    runner = run(bot, { runner: { fetch: { allowed_updates: ALLOWED_UPDATES }, silent: true } });
    await progress.start();
    logger.info({ username: bot.botInfo.username, apiRoot: redactUrlPasswords(config.TELEGRAM_API_ROOT) }, 'bot started');
    await runner.task();
    // The runner confirms a batch's offsets when it fetches the next one, while
    // the batch may still be in hand: those updates would not come again after a
    // restart. So nothing is closed until every update in hand has finished.
    const deadline = Date.now() + STOP_WAIT_MS;
    while (runner.size() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (runner.size() > 0) logger.warn({ inHand: runner.size() }, 'bot stopped with updates still in hand');
    await progress.stop();
    await downloads.settle();
  }
  await temporal.connection.close();
  await db.$disconnect();
  redis.disconnect();
  logger.info('bot stopped');
}

runEntryPoint('bot', main);
