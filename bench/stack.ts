import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createRedis } from '../lib/redis';
import { createTestDatabase, type TestDatabase } from '../test/support/database';
import { FakeBotApi } from '../test/support/fake-bot-api';
import { MediaServer } from '../test/support/media-server';
import { ADMIN_ID, BOT_TOKEN, deleteKeys } from '../test/support/stack';
import { startTemporal, type TestTemporal } from '../test/support/temporal-server';

const ROOT = path.resolve(__dirname, '..');
const TSX_LOADER = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

export interface BenchStack {
  telegram: FakeBotApi;
  media: MediaServer;
  database: TestDatabase;
  client: Client;
  downloadDir: string;
  /** Process IDs of the worker and the bot. */
  pids: { worker: number; bot: number };
  stop(): Promise<void>;
}

/**
 * The product as it runs in production: the worker and the bot as processes of
 * their own (`workers/main.ts`, `bot/main.ts`), against a Temporal dev server, a
 * fresh PostgreSQL database, Redis under a key prefix of its own, a fake Bot API
 * and a media server on loopback. Everything it starts, `stop()` stops.
 */
export async function startBenchStack(settings: Record<string, string>): Promise<BenchStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-bench-'));
  const downloadDir = path.join(dir, 'downloads');
  const telegram = new FakeBotApi(BOT_TOKEN);
  const media = new MediaServer();
  const redisPrefix = `bench:${randomBytes(3).toString('hex')}:`;
  const children: ChildProcess[] = [];
  let temporal: TestTemporal | undefined;
  let database: TestDatabase | undefined;
  let client: Client | undefined;

  const stop = async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null)));
    await client?.connection.close();
    const redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', redisPrefix);
    await deleteKeys(redis).finally(() => redis.disconnect());
    await Promise.allSettled([temporal?.stop(), database?.drop(), telegram.stop(), media.stop()]);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all([
      startTemporal().then((t) => (temporal = t)),
      createTestDatabase().then((d) => (database = d)),
      telegram.start(),
      media.start(),
    ]);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      ADMIN_IDS: String(ADMIN_ID),
      DATABASE_URL: database!.url,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      REDIS_KEY_PREFIX: redisPrefix,
      TEMPORAL_ADDRESS: temporal!.address,
      DOWNLOAD_DIR: downloadDir,
      MIN_DISK_SPACE_GB: '0',
      ALLOW_PRIVATE_URLS: 'true', // the media servers are on loopback
      LOG_LEVEL: 'warn',
      ...settings,
    };
    for (const entry of ['workers/main.ts', 'bot/main.ts']) {
      // cwd: no developer .env is read.
      const child = spawn(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, entry)], {
        cwd: dir,
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
      });
      children.push(child);
    }
    client = new Client({ connection: await Connection.connect({ address: temporal!.address }) });
    return { telegram, media, database: database!, client, downloadDir, pids: { worker: children[0]!.pid!, bot: children[1]!.pid! }, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
