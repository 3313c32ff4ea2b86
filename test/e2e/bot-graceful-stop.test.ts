import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRedis, redisReady } from '../../lib/redis';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { spawnEntryPoint } from '../support/entry-points';
import { eventually } from '../support/eventually';
import { FakeBotApi, type RecordedCall } from '../support/fake-bot-api';
import { BOT_TOKEN, deleteKeys } from '../support/stack';
import { startTemporal, type TestTemporal } from '../support/temporal-server';
import { textMessage } from '../support/telegram-updates';

/**
 * The real bot process (grammY's runner) told to stop while it is still
 * handling an update: it finishes that update before it exits, and the update
 * is answered exactly once across the restart.
 */

const OWNER = 6101;

let dir: string;
let database: TestDatabase;
let telegram: FakeBotApi;
let temporal: TestTemporal;
const processes: ChildProcess[] = [];
const redisPrefix = `test:graceful:${process.pid}:`;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-graceful-'));
  telegram = new FakeBotApi(BOT_TOKEN);
  [database, temporal] = await Promise.all([createTestDatabase(), startTemporal(), telegram.start()]).then(([d, t]) => [d, t] as const);
});

afterAll(async () => {
  for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  const redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', redisPrefix);
  await deleteKeys(redis).finally(() => redis.disconnect());
  await Promise.all([temporal?.stop(), database?.drop(), telegram?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

function startBot(): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawnEntryPoint('bot', {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      ADMIN_IDS: String(OWNER),
      DATABASE_URL: database.url,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      REDIS_KEY_PREFIX: redisPrefix,
      TEMPORAL_ADDRESS: temporal.address,
      TASK_QUEUE: 'graceful',
      DOWNLOAD_TASK_QUEUE: 'graceful-downloads',
      LOG_LEVEL: 'warn',
    },
  });
  processes.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

const isHelp = (c: RecordedCall) => c.method === 'sendMessage' && /^Send me one or more links/.test(String(c.payload.text));

test('a stop waits for the update in hand, which is answered exactly once across a restart', async () => {
  const first = startBot();
  await eventually(() => telegram.calls.some((c) => c.method === 'setMyCommands'), 30_000, 'the bot to start');

  // Telegram takes 2 s to accept the answer: the bot is told to stop while it waits.
  telegram.holdNextMs = 2_000;
  const updateId = telegram.pushUpdate(textMessage({ userId: OWNER, text: '/help' }));
  await eventually(() => telegram.calls.some(isHelp), 30_000, 'the answer to be on its way');
  const stoppedAt = Date.now();
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
  // It exited only once the answer had gone through, and the update was marked handled in Redis
  // (the last step of handling it): services were not closed under a handler still running.
  expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1_500);
  const redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', redisPrefix);
  try {
    await redisReady(redis);
    expect(await redis.exists(`update:${BOT_TOKEN.split(':')[0]}:${updateId}`)).toBe(1);
  } finally {
    redis.disconnect();
  }

  // The runner confirmed the update with its next fetch while the update was in hand, so
  // this stop had to finish it (or it would be lost); if it had come again, the Redis
  // guard would skip it. Either way it is answered once.
  const second = startBot();
  await eventually(() => telegram.calls.filter((c) => c.method === 'setMyCommands').length >= 2, 30_000, 'the bot to start again');
  const before = telegram.calls.length;
  telegram.pushUpdate(textMessage({ userId: OWNER, text: '/whoami' }));
  await eventually(
    () => telegram.calls.slice(before).some((c) => c.method === 'sendMessage' && /^You are 6101/.test(String(c.payload.text))),
    30_000,
    'the next update answered',
  );
  expect(telegram.calls.filter(isHelp)).toHaveLength(1);
  second.child.kill('SIGINT');
  expect(await second.exited).toBe(0);
});
