import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import type { Config } from '../../lib/config';
import { downloadWorkflowId } from '../../domain/downloads/definitions';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import { spawnEntryPoint } from '../support/entry-points';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { FakeBotApi } from '../support/fake-bot-api';
import { MediaServer } from '../support/media-server';
import { testSettings } from '../support/settings';
import { BOT_TOKEN } from '../support/stack';
import { startTemporal, type TestTemporal } from '../support/temporal-server';
import { eventually } from '../support/eventually';

/**
 * The promise at the heart of the product: a worker killed mid-download (SIGKILL,
 * no goodbye) loses nothing. Its yt-dlp dies with it, Temporal notices the missing
 * heartbeats, another worker resumes the partial file, and the user is told once.
 */

const ROUTE = '/crash/clip.mp4';
const CHAT = 8001;

let temporal: TestTemporal;
let database: TestDatabase;
let telegram: FakeBotApi;
let media: MediaServer;
let dir: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  telegram = new FakeBotApi(BOT_TOKEN);
  media = new MediaServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-crash-'));
  // Each service is recorded as soon as it is up, so afterAll stops it even if another failed to start.
  await Promise.all([
    startTemporal().then((t) => (temporal = t)),
    createTestDatabase().then((d) => (database = d)),
    telegram.start(),
    media.start(),
  ]);
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  await Promise.all([temporal?.stop(), database?.drop(), telegram?.stop(), media?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

const settings = (): Config =>
  testSettings({
    TASK_QUEUE: 'crash',
    DOWNLOAD_TASK_QUEUE: 'crash-downloads',
    DOWNLOAD_DIR: path.join(dir, 'downloads'),
    HEARTBEAT_TIMEOUT_SECONDS: 6,
  });

/** The real worker entry point in a process of its own (one process: node loads tsx itself). */
function startWorker(extra: Record<string, string> = {}): ChildProcess {
  const s = settings();
  // (stderr is read below, so a worker that fails to start says why in the test output)
  const worker = spawnEntryPoint('worker', {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      ADMIN_IDS: String(CHAT),
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TASK_QUEUE: s.TASK_QUEUE,
      DOWNLOAD_TASK_QUEUE: s.DOWNLOAD_TASK_QUEUE,
      DOWNLOAD_DIR: s.DOWNLOAD_DIR,
      MIN_DISK_SPACE_GB: '0',
      ALLOW_PRIVATE_URLS: 'true', // the media server is on loopback
      DIRECT_SOURCE: 'false', // this suite is about yt-dlp (killed with its worker, resumed)
      TELEGRAM_UPLOAD_LIMIT_MB: '0', // completion messages as text
      HEARTBEAT_TIMEOUT_SECONDS: String(s.HEARTBEAT_TIMEOUT_SECONDS),
      LOG_LEVEL: 'warn',
      ...extra,
    },
  });
  let stderr = '';
  worker.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  worker.on('exit', (code, signal) => {
    if (signal !== 'SIGKILL') console.error(`worker exited (${signal ?? code}): ${stderr}`);
  });
  workers.push(worker);
  return worker;
}

function ytDlpRunning(): boolean {
  return fs.readdirSync('/proc').some((entry) => {
    if (!/^\d+$/.test(entry)) return false;
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      return cmdline.includes('yt-dlp') && cmdline.includes(ROUTE);
    } catch {
      return false;
    }
  });
}

/** Asks for `url` as CHAT's message `messageId` would, through the downloads client; its content key. */
async function requestDownload(downloads: DownloadsClient, url: string, correlationId: string, messageId: number): Promise<string> {
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error(`bad url ${url}`);
  const contentKey = contentKeyFor(parsed.url, 'video');
  await downloads.startOrJoin({
    contentKey,
    url: parsed.url,
    mode: 'video',
    correlationId,
    subscriber: { chatId: CHAT, userId: CHAT, messageId, correlationId },
  });
  return contentKey;
}

function partialBytes(): number {
  const incomplete = path.join(settings().DOWNLOAD_DIR, '.incomplete');
  if (!fs.existsSync(incomplete)) return 0;
  return fs.readdirSync(incomplete).reduce((sum, f) => sum + fs.statSync(path.join(incomplete, f)).size, 0);
}

test('a worker killed mid-download: yt-dlp dies with it, another worker resumes the file, the user is told once', async () => {
  // Part of the file, then silence: yt-dlp sits waiting and prints nothing, so only
  // the kernel (not a broken pipe) can end it when its worker dies.
  const url = media.route(ROUTE, { stallAfterBytes: 30_000 });
  const first = startWorker();
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  try {
    const contentKey = await requestDownload(new DownloadsClient(client, downloadsSettings(settings())), url, 'crash', 1);

    // yt-dlp reads in growing blocks and keeps the last, unfilled one in memory:
    // wait for part of what was sent, then for it to settle into waiting.
    await eventually(() => partialBytes() >= 8_000, 60_000, 'the first worker to write part of the file');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ytDlpRunning()).toBe(true); // so that "no longer running" below means something
    first.kill('SIGKILL');
    // Well inside yt-dlp's own 30 s socket timeout: it died with its worker.
    await eventually(() => !ytDlpRunning(), 5_000, "the dead worker's yt-dlp to die too");
    const leftBehind = partialBytes();
    expect(leftBehind).toBeGreaterThan(0);

    media.route(ROUTE); // full speed for the retry
    startWorker();
    const done = await telegram.waitForCall(
      (c) => c.method === 'sendMessage' && Number(c.payload.chat_id) === CHAT && /Downloaded/.test(String(c.payload.text)),
      90_000,
      'the completion message',
    );
    const savedAs = /Saved as: (.+)/.exec(String(done.payload.text))![1]!;
    expect(fs.readFileSync(path.join(settings().DOWNLOAD_DIR, savedAs))).toEqual(fs.readFileSync(media.clipPath));
    // The second worker asked only for the rest of the file.
    expect(media.rangeStarts.get(ROUTE)?.some((start) => start > 0)).toBe(true);
    const row = await database.db.download.findUniqueOrThrow({ where: { contentKey } });
    expect(row).toMatchObject({ state: 'completed', attempts: 2 });

    // One completion message, even after the workflow has fully finished.
    await client.workflow.getHandle(row.workflowId).result();
    expect(telegram.sentTo(CHAT).filter((t) => /Downloaded/.test(t))).toHaveLength(1);
  } finally {
    await client.connection.close();
  }
}, 240_000);

test('paused while the worker running its download is dead: it waits paused (no failure), and resumed, another worker finishes it', async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  const route = '/crash/paused.mp4';
  const url = media.route(route, { stallAfterBytes: 30_000 });
  const first = startWorker();
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  // The pause is answered once the dead worker's step has timed out and a new worker
  // has started (tens of seconds on a busy machine): wait for it rather than for the
  // 20 s after which the bot tells people the command may still take effect.
  const downloads = new DownloadsClient(client, { ...downloadsSettings(settings()), commandTimeoutMs: 90_000 });
  const by = { id: 'test:crash', name: 'the crash test' };
  try {
    const contentKey = await requestDownload(downloads, url, 'crash-pause', 2);
    // Part of the file on disk (not only sent: yt-dlp holds its last block in memory), so the resume below has something to continue.
    await eventually(() => partialBytes() >= 8_000, 60_000, 'the first worker to write part of the file');
    first.kill('SIGKILL');
    // Nothing more from the server: on a busy machine the step may time out and run again
    // before the pause below is handled, and a retry must not be able to finish the file.
    media.route(route, { stallAfterBytes: 0 });
    startWorker();

    // The cancel cannot reach the dead worker's activity: the heartbeat timeout (6 s) ends it, and it waits paused.
    // (objectContaining: a refusal is printed whole, with its message)
    expect(await downloads.pause(contentKey, by)).toEqual(expect.objectContaining({ ok: true, state: 'paused' }));
    const view = await downloads.describe(contentKey);
    expect(view).toMatchObject({ ok: true, state: 'paused', running: true });

    media.route(route);
    expect(await downloads.resume(contentKey, by)).toMatchObject({ ok: true });
    const outcome = await client.workflow.getHandle(downloadWorkflowId(contentKey)).result();
    expect(outcome).toMatchObject({ status: 'completed' });
    const done = telegram.sentTo(CHAT).filter((t) => /Downloaded/.test(t) && t.includes('paused'));
    expect(done).toHaveLength(1);
    expect(media.rangeStarts.get(route)?.some((start) => start > 0)).toBe(true);
  } finally {
    await client.connection.close();
  }
}, 240_000);

test('the direct source, its worker killed mid-file: another worker asks for the rest with Range and finishes it', async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  const route = '/crash/direct.mp4';
  const url = media.route(route, { stallAfterBytes: 30_000 });
  const first = startWorker({ DIRECT_SOURCE: 'true' });
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  try {
    const contentKey = await requestDownload(new DownloadsClient(client, downloadsSettings(settings())), url, 'crash-direct', 3);
    const partial = path.join(settings().DOWNLOAD_DIR, '.incomplete', `direct-${contentKey.slice(0, 12)}.part`);
    await eventually(
      () => fs.existsSync(partial) && fs.statSync(partial).size === 30_000,
      60_000,
      'the first worker to write part of the file',
    );
    first.kill('SIGKILL');

    media.route(route); // full speed for the retry
    startWorker({ DIRECT_SOURCE: 'true' });
    const done = await telegram.waitForCall(
      (c) =>
        c.method === 'sendMessage' &&
        Number(c.payload.chat_id) === CHAT &&
        /Downloaded/.test(String(c.payload.text)) &&
        String(c.payload.text).includes('direct'),
      90_000,
      'the completion message',
    );
    const savedAs = /Saved as: (.+)/.exec(String(done.payload.text))![1]!;
    expect(fs.readFileSync(path.join(settings().DOWNLOAD_DIR, savedAs))).toEqual(fs.readFileSync(media.clipPath));
    // The second worker asked for exactly the bytes the first had not written.
    expect(media.rangeStarts.get(route)).toEqual([30_000]);
    expect(fs.existsSync(partial)).toBe(false);
    expect(await database.db.download.findUniqueOrThrow({ where: { contentKey } })).toMatchObject({ state: 'completed', attempts: 2 });
  } finally {
    await client.connection.close();
  }
}, 240_000);
