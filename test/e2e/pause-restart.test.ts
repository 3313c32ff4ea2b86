import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import { parseConfig } from '../../lib/config';
import { createRedis } from '../../lib/redis';
import { spawnEntryPoint } from '../support/entry-points';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually, eventuallyAsync } from '../support/eventually';
import { FakeBotApi, type RecordedCall } from '../support/fake-bot-api';
import { freePort } from '../support/free-port';
import { MediaServer } from '../support/media-server';
import { BOT_TOKEN, deleteKeys } from '../support/stack';
import { textMessage } from '../support/telegram-updates';
import { startTemporal, type TestTemporal } from '../support/temporal-server';

/**
 * Pausing outlives every process: with everything paused and one download
 * also paused on its own, the bot, the worker and the Temporal dev server (with
 * its persisted state) are all stopped and started again. Nothing resumes by
 * itself; /resume continues the globally paused download from its partial
 * file, and the one paused on its own waits for its own /resume.
 */

const ADMIN = 5001;
const SLOW = 3_000;

let dir: string;
let database: TestDatabase;
let telegram: FakeBotApi;
let media: MediaServer;
let temporal: TestTemporal | undefined;
let temporalPort: number;
const processes: ChildProcess[] = [];
const redisPrefix = `test:restart:${process.pid}:`;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-restart-'));
  telegram = new FakeBotApi(BOT_TOKEN);
  media = new MediaServer();
  temporalPort = await freePort();
  await Promise.all([createTestDatabase().then((d) => (database = d)), telegram.start(), media.start()]);
});

afterAll(async () => {
  for (const p of processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  const redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', redisPrefix);
  await deleteKeys(redis).finally(() => redis.disconnect());
  await Promise.all([temporal?.stop(), database?.drop(), telegram?.stop(), media?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

function env(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    ADMIN_IDS: String(ADMIN),
    DATABASE_URL: database.url,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
    REDIS_KEY_PREFIX: redisPrefix,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TASK_QUEUE: 'restart',
    DOWNLOAD_TASK_QUEUE: 'restart-downloads',
    DOWNLOAD_DIR: path.join(dir, 'downloads'),
    MIN_DISK_SPACE_GB: '0',
    ALLOW_PRIVATE_URLS: 'true',
    DIRECT_SOURCE: 'false', // this suite is about yt-dlp (killed with its worker, resumed)
    TELEGRAM_UPLOAD_LIMIT_MB: '0', // completion messages as text
    HEARTBEAT_TIMEOUT_SECONDS: '10',
    LOG_LEVEL: 'warn',
  };
}

/** The real worker and bot entry points, as `npm run worker` and `npm run bot` start them. */
async function startApp(): Promise<{ stop(): Promise<void> }> {
  const children = (['worker', 'bot'] as const).map((entry) => {
    const child = spawnEntryPoint(entry, { cwd: dir, env: env() });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGINT' && code !== 0) console.error(`${entry} exited (${signal ?? code}): ${stderr}`);
    });
    processes.push(child);
    return child;
  });
  return {
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGINT');
            }),
        ),
      );
    },
  };
}

function send(text: string): number {
  const update = textMessage({ userId: ADMIN, text });
  telegram.pushUpdate(update);
  return update.message.message_id;
}

function replyTo(messageId: number, pattern: RegExp) {
  return (call: RecordedCall) =>
    call.method === 'sendMessage' &&
    (call.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId &&
    pattern.test(String(call.payload.text));
}

async function command(text: string): Promise<string> {
  const before = telegram.calls.length;
  send(text);
  const answer = await telegram.waitForCall(
    (c) => telegram.calls.indexOf(c) >= before && c.method === 'sendMessage',
    60_000,
    `the answer to ${text}`,
  );
  return String(answer.payload.text);
}

async function queue(url: string): Promise<{ messageId: number; shortId: string }> {
  const messageId = send(url);
  const reply = String((await telegram.waitForCall(replyTo(messageId, /Queued/), 60_000, 'the intake reply')).payload.text);
  return { messageId, shortId: /\[([0-9a-f]{8})\]/.exec(reply)![1]! };
}

async function withClient<T>(fn: (downloads: DownloadsClient) => Promise<T>): Promise<T> {
  const client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${temporalPort}` }) });
  try {
    const settings = parseConfig({ ...env() });
    return await fn(new DownloadsClient(client, downloadsSettings(settings)));
  } finally {
    await client.connection.close();
  }
}

test('the global pause and a per-download pause survive restarts of the bot, the worker and the Temporal dev server', async () => {
  const dbFile = path.join(dir, 'temporal.db');
  temporal = await startTemporal('default', { dbFile, port: temporalPort });
  let app = await startApp();

  const globalRoute = '/restart/global.mp4';
  const ownRoute = '/restart/own.mp4';
  const paused = await queue(media.route(globalRoute, { bytesPerSecond: SLOW }));
  const own = await queue(media.route(ownRoute, { bytesPerSecond: SLOW }));
  await eventually(
    () => (media.bytesServed.get(globalRoute) ?? 0) > 5_000 && (media.bytesServed.get(ownRoute) ?? 0) > 5_000,
    60_000,
    'part of both files',
  );
  expect(await command(`/pause ${own.shortId}`)).toMatch(/^⏸ Paused \[/);
  expect(await command('/pause')).toMatch(/^⏸ Paused: everything is being paused/);
  await withClient(async (downloads) => {
    const stateOf = async (id: string) => ((await downloads.describe(id)) as { state?: string }).state;
    for (const id of [paused.shortId, own.shortId])
      await eventuallyAsync(async () => (await stateOf(id)) === 'paused', 30_000, `${id} to be paused`);
  });

  // Everything goes down: bot and worker first, then Temporal; then everything comes back.
  await app.stop();
  await temporal.stop();
  temporal = await startTemporal('default', { dbFile, port: temporalPort });
  app = await startApp();

  // Still paused, with nothing fetched, once the new worker runs (it answers queries).
  await withClient((downloads) =>
    eventuallyAsync(
      async () => (await downloads.globalState().catch(() => null))?.paused === true,
      60_000,
      'the new worker to say everything is paused',
    ),
  );
  const served = (route: string) => media.bytesServed.get(route) ?? 0;
  const before = { global: served(globalRoute), own: served(ownRoute) };
  await new Promise((r) => setTimeout(r, 4_000));
  expect({ global: served(globalRoute), own: served(ownRoute) }).toEqual(before);
  await withClient(async (downloads) => {
    expect((await downloads.describe(paused.shortId)) as { state: string }).toMatchObject({ state: 'paused' });
    expect((await downloads.describe(own.shortId)) as { state: string }).toMatchObject({ state: 'paused' });
  });

  media.route(globalRoute, { bytesPerSecond: 4 * SLOW });
  media.route(ownRoute, { bytesPerSecond: 4 * SLOW });
  expect(await command('/resume')).toMatch(/^▶️ Resumed: everything resumed/);
  await telegram.waitForCall(replyTo(paused.messageId, /Downloaded/), 90_000, 'the globally paused download to finish');
  expect(served(globalRoute)).toBeLessThan(1.5 * media.clipSize);
  expect(media.rangeStarts.get(globalRoute)?.some((start) => start > 0)).toBe(true);

  // The one paused on its own stays paused until its own /resume.
  await new Promise((r) => setTimeout(r, 2_000));
  expect(served(ownRoute)).toBe(before.own);
  expect(await command(`/resume ${own.shortId}`)).toMatch(/^▶️ Resumed \[/);
  const done = await telegram.waitForCall(replyTo(own.messageId, /Downloaded/), 90_000, 'the other download to finish');
  const savedAs = /Saved as: (.+)/.exec(String(done.payload.text))![1]!;
  expect(fs.readFileSync(path.join(dir, 'downloads', savedAs))).toEqual(fs.readFileSync(media.clipPath));

  await app.stop();
}, 240_000);
