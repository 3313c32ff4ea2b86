import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { createActivities } from '../../activities';
import { AttemptJournal } from '../../activities/attempt-journal';
import { activityDeps } from '../../activities/deps';
import { alertChannelsOf, attemptStore } from '../../activities/monitoring';
import { NO_EXTRA_FEATURES } from '../../activities/ytdlp';
import { probeYtDlp } from '../../activities/ytdlp-install';
import { run } from '@grammyjs/runner';
import { ALLOWED_UPDATES, createBot } from '../../bot/create-bot';
import { createBotServices } from '../../bot/services';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import { completedLookup } from '../../domain/downloads/completed';
import { parseConfig, secretsOf, type Config } from '../../lib/config';
import { createLogger, LogCollector } from '../../lib/logger';
import { createRedis, redisReady, type Redis } from '../../lib/redis';
import { createTelegramApi, telegramNotifier } from '../../lib/telegram';
import { createWorkers, type WorkerSet } from '../../workers/create-workers';
import { createTestDatabase, type TestDatabase } from './database';
import { FakeBotApi } from './fake-bot-api';
import { MediaServer } from './media-server';
import { startTemporal, type TestTemporal } from './temporal-server';
import { workflowBundle } from './test-workers';

export const ADMIN_ID = 111;
export const OTHER_ADMIN_ID = 222;
export const STRANGER_ID = 999;
export const BOT_TOKEN = '123456789:TEST-secret-token-abcdefghijklmnop';

export interface RunningWorker {
  stop(): Promise<void>;
}

export interface Stack {
  config: Config;
  telegram: FakeBotApi;
  media: MediaServer;
  database: TestDatabase;
  temporal: TestTemporal;
  client: Client;
  /** The downloads client the bot uses, for tests that inspect or control downloads. */
  downloads: DownloadsClient;
  logs: LogCollector;
  /** The worker started with the stack; `stop()` drains it as SIGTERM does. */
  firstWorker: RunningWorker;
  /** Starts one more worker on the same task queues (stopped with the stack). */
  addWorker(): Promise<RunningWorker>;
  /** The worker's attempt journal: `flush()` stores every attempt recorded so far. */
  journal: AttemptJournal;
  stop(): Promise<void>;
}

/**
 * The whole product on real services: a Temporal dev server, a fresh PostgreSQL
 * database, the real worker (real yt-dlp) and the real bot polling a fake Bot
 * API, plus a media server. Everything it starts, `stop()` stops.
 */
export async function startStack(env: Record<string, string> = {}, o: { alerts?: boolean } = {}): Promise<Stack> {
  // Undo steps, last first: if any start-up step fails, what did start is stopped.
  const undo: Array<() => Promise<unknown> | void> = [];
  const stopAll = async () => {
    const errors: unknown[] = [];
    for (const step of undo.splice(0).reverse())
      await Promise.resolve()
        .then(step)
        .catch((err: unknown) => errors.push(err));
    if (errors.length) throw errors[0];
  };
  try {
    const telegram = new FakeBotApi(BOT_TOKEN);
    const media = new MediaServer();
    const downloadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-downloads-'));
    undo.push(() => fs.rmSync(downloadDir, { recursive: true, force: true }));
    await telegram.start();
    undo.push(() => telegram.stop());
    await media.start();
    undo.push(() => media.stop());
    // All three settle before going on, so whatever did start has its undo step.
    const [temporalStart, databaseStart, bundle] = await Promise.allSettled([startTemporal(), createTestDatabase(), workflowBundle()]);
    if (temporalStart.status === 'fulfilled') undo.push(() => temporalStart.value.stop());
    if (databaseStart.status === 'fulfilled') undo.push(() => databaseStart.value.drop());
    for (const started of [temporalStart, databaseStart, bundle]) if (started.status === 'rejected') throw started.reason;
    const temporal = (temporalStart as PromiseFulfilledResult<TestTemporal>).value;
    const database = (databaseStart as PromiseFulfilledResult<TestDatabase>).value;
    const id = randomBytes(3).toString('hex');
    const config = parseConfig({
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      ADMIN_IDS: `${ADMIN_ID},${OTHER_ADMIN_ID}`,
      DATABASE_URL: database.url,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      REDIS_KEY_PREFIX: `test:${id}:`,
      TEMPORAL_ADDRESS: temporal.address,
      TASK_QUEUE: `e2e-${id}`,
      DOWNLOAD_TASK_QUEUE: `e2e-${id}-downloads`,
      DOWNLOAD_DIR: downloadDir,
      MIN_DISK_SPACE_GB: '0',
      MAX_RETRIES: '3',
      RETRY_BASE_SECONDS: '0.3',
      SOCKET_TIMEOUT: '5',
      HEARTBEAT_TIMEOUT_SECONDS: '20',
      LOG_LEVEL: 'info',
      // The media server is on loopback; link-local and metadata addresses stay refused.
      ALLOW_PRIVATE_URLS: 'true',
      // As in testSettings: yt-dlp fetches the media server's .mp4 links unless a suite asks for the direct source.
      DIRECT_SOURCE: 'false',
      // Completion messages as text, as the suites read them; the send-back suite turns files on.
      TELEGRAM_UPLOAD_LIMIT_MB: '0',
      ...env,
    });
    const logs = new LogCollector();
    const logger = createLogger({ level: config.LOG_LEVEL, secrets: secretsOf(config), destination: logs });
    const client = new Client({
      connection: await Connection.connect({ address: temporal.address }),
      namespace: config.TEMPORAL_NAMESPACE,
    });
    undo.push(() => client.connection.close());

    // As in the worker: attempts are journaled and stored for the monitoring; alerts
    // go out only in suites that ask (others would see alert messages in admin chats).
    const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-attempts-'));
    undo.push(() => fs.rmSync(journalDir, { recursive: true, force: true }));
    const alertChannels = o.alerts
      ? alertChannelsOf(config, createTelegramApi(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_ROOT))
      : undefined;
    const journal = new AttemptJournal({
      dir: journalDir,
      logger: logger.child({ name: 'worker', component: 'attempts' }),
      maxRetryMs: 2_000,
      ...attemptStore({
        db: database.db,
        logger: logger.child({ name: 'worker' }),
        temporal: client,
        taskQueue: config.TASK_QUEUE,
        alertChannels,
      }),
    });
    await journal.start();
    undo.push(() => journal.stop(2_000));
    const ytDlpFeatures = (await probeYtDlp(config.YTDLP_PATH))?.features ?? NO_EXTRA_FEATURES;
    const running: RunningWorker[] = [];
    /** One more worker set on the stack's task queues, as another worker process would be. */
    const addWorker = async (): Promise<RunningWorker> => {
      const set: WorkerSet = await createWorkers(
        config,
        createActivities(
          activityDeps(config, {
            attempts: journal,
            alertChannels,
            db: database.db,
            temporal: client,
            telegram: telegramNotifier(createTelegramApi(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_ROOT)),
            logger: logger.child({ name: 'worker' }),
            ytDlpFeatures,
            heartbeatEveryMs: 1_000,
          }),
        ),
        { workflowBundle: await workflowBundle(), secrets: secretsOf(config) },
      );
      const done = set.run();
      const worker = {
        // Shutting down twice is harmless: the second call finds it stopped.
        stop: async () => {
          set.shutdown();
          await done;
        },
      };
      running.push(worker);
      return worker;
    };
    const firstWorker = await addWorker();
    undo.push(async () => {
      for (const worker of running) await worker.stop();
    });
    const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
    redis.on('error', () => undefined);
    await redisReady(redis);
    undo.push(async () => {
      // A suite that runs with Redis down has nothing to delete.
      await deleteKeys(redis).catch(() => undefined);
      redis.disconnect();
    });
    const downloads = new DownloadsClient(client, downloadsSettings(config), completedLookup(database.db, config.DOWNLOAD_DIR));
    const services = createBotServices({ settings: config, db: database.db, redis, downloads, logger: logger.child({ name: 'bot' }) });
    const { bot, progress } = createBot(services, { token: config.TELEGRAM_BOT_TOKEN, apiRoot: config.TELEGRAM_API_ROOT });
    // As in production: grammY's runner, each chat in order, chats at once.
    const runner = run(bot, { runner: { fetch: { allowed_updates: ALLOWED_UPDATES, timeout: 1 }, silent: true } });
    await progress.start();
    undo.push(async () => {
      await progress.stop();
      await runner.stop();
      // runner.stop() does not wait for the updates in hand (bot/main.ts waits the same way).
      for (let waited = 0; runner.size() > 0 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
      // Nothing may be calling Temporal when its connection closes (a retry timer would throw).
      await downloads.settle();
    });

    return { config, telegram, media, database, temporal, client, downloads, logs, journal, firstWorker, addWorker, stop: stopAll };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** Removes every key this run wrote (the client's prefix scopes them). */
export async function deleteKeys(redis: Redis): Promise<void> {
  await redisReady(redis);
  const prefix = redis.options.keyPrefix ?? '';
  if (!prefix) throw new Error('refusing to clear Redis without a key prefix');
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
    cursor = next;
    // SCAN returns full key names; the client adds the prefix again, so strip it.
    if (keys.length) await redis.del(...keys.map((k) => k.slice(prefix.length)));
  } while (cursor !== '0');
}
