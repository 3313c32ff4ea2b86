import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import { parseConfig } from '../../lib/config';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { spawnEntryPoint } from '../support/entry-points';
import { eventually } from '../support/eventually';
import { FakeBotApi } from '../support/fake-bot-api';
import { MediaServer } from '../support/media-server';
import { BOT_TOKEN } from '../support/stack';
import { startTemporal, type TestTemporal } from '../support/temporal-server';

/**
 * SIGTERM to a worker with a download in flight, as `systemctl stop` or
 * `docker stop` sends it: the worker stops within a bounded time, the download
 * is handed back and another worker resumes it from its partial file, and the
 * person who asked is told once.
 */

const ADMIN = 4242;
let dir: string;
let temporal: TestTemporal;
let database: TestDatabase;
let telegram: FakeBotApi;
let media: MediaServer;
let client: Client;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-shutdown-'));
  telegram = new FakeBotApi(BOT_TOKEN);
  media = new MediaServer();
  [temporal, database] = await Promise.all([startTemporal(), createTestDatabase(), telegram.start(), media.start()]);
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
}, 90_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await client?.connection.close();
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
    TEMPORAL_ADDRESS: temporal.address,
    TASK_QUEUE: 'shutdown',
    DOWNLOAD_TASK_QUEUE: 'shutdown-downloads',
    DOWNLOAD_DIR: path.join(dir, 'downloads'),
    MIN_DISK_SPACE_GB: '0',
    ALLOW_PRIVATE_URLS: 'true',
    DIRECT_SOURCE: 'false',
    TELEGRAM_UPLOAD_LIMIT_MB: '0',
    HEARTBEAT_TIMEOUT_SECONDS: '10',
    RETRY_BASE_SECONDS: '0.5',
    // One attempt only: a drain must not spend it (the download is handed back, not failed).
    MAX_RETRIES: '0',
    LOG_LEVEL: 'info',
  };
}

async function startWorker(): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawnEntryPoint('worker', { cwd: dir, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(() => output.includes('"worker started"') || child.exitCode !== null, 60_000, 'the worker to start');
  if (child.exitCode !== null) throw new Error(`the worker exited: ${output}`);
  return { child, output: () => output };
}

test('SIGTERM (twice) mid-download: the worker stops in bounded time and hands the download back without spending an attempt; another worker resumes the partial file; the user is told once', async () => {
  const route = '/shutdown/clip.mp4';
  // Slow enough that the first worker's 10 s grace does not finish it.
  const url = media.route(route, { bytesPerSecond: 1_000 });
  const first = await startWorker();
  const config = parseConfig({ ...env() });
  const downloads = new DownloadsClient(client, downloadsSettings(config));
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error('bad link');
  const contentKey = contentKeyFor(parsed.url, 'video');
  await downloads.startOrJoin({
    contentKey,
    url: parsed.url,
    mode: 'video',
    correlationId: 'shutdown-test',
    subscriber: { chatId: ADMIN, userId: ADMIN, messageId: 1, correlationId: 'shutdown-test' },
  });
  await eventually(() => (media.bytesServed.get(route) ?? 0) > 3_000, 60_000, 'the download to be under way');
  // More than the first worker's 10 s grace can fetch is left, so the second one must resume it.
  expect(media.clipSize).toBeGreaterThan(3_000 + 15 * 1_000);

  // The second worker is up before the first goes, as in a rolling restart.
  const second = await startWorker();
  const stopping = Date.now();
  const exited = new Promise<number | null>((resolve) => first.child.once('exit', (code) => resolve(code)));
  first.child.kill('SIGTERM');
  // A second signal during the drain (a double Ctrl-C, an impatient supervisor) does not cut it short.
  await new Promise((r) => setTimeout(r, 1_000));
  first.child.kill('SIGTERM');
  const code = await exited;
  expect(first.output()).toContain('already stopping');
  const tookMs = Date.now() - stopping;
  expect(code).toBe(0);
  // The SDK's 10 s grace for the download, then yt-dlp's stop and the worker's own clean-up.
  expect(tookMs).toBeLessThan(30_000);

  const done = await telegram.waitForCall(
    (c) => c.method === 'sendMessage' && /Downloaded/.test(String(c.payload.text)),
    90_000,
    'the completion',
  );
  const savedAs = /Saved as: (.+)/.exec(String(done.payload.text))![1]!;
  expect(fs.statSync(path.join(dir, 'downloads', savedAs)).size).toBe(media.clipSize);
  // Resumed from the partial file, not started over.
  expect(Math.max(...(media.rangeStarts.get(route) ?? [0]))).toBeGreaterThan(0);
  // Told once, whatever happened to the first worker.
  await new Promise((r) => setTimeout(r, 2_000));
  expect(telegram.callsTo('sendMessage').filter((c) => /Downloaded/.test(String(c.payload.text)))).toHaveLength(1);
  // The interrupted attempt is recorded as a stop, not as the downloader's failure.
  await eventually(() => second.output().length > 0, 1_000, 'the second worker to log');
  const attempts = await database.db.downloadAttempt.findMany({ where: { contentKey }, orderBy: { finishedAt: 'asc' } });
  expect(attempts.map((a) => [a.success, a.errorKind, a.counts])).toEqual([
    [false, 'WorkerShutdown', false],
    [true, null, true],
  ]);
  await downloads.settle();
  second.child.kill('SIGTERM');
  await new Promise((resolve) => second.child.once('exit', resolve));
}, 180_000);
