import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import { parseConfig } from '../../lib/config';
import { eventually } from '../support/eventually';
import { startProcessStack, type ProcessStack } from '../support/process-stack';

/**
 * SIGTERM to a worker with a download in flight, as `systemctl stop` or
 * `docker stop` sends it: the worker stops within a bounded time, the download
 * is handed back and another worker resumes it from its partial file, and the
 * person who asked is told once.
 */

const ADMIN = 4242;
let stack: ProcessStack;
let client: Client;

beforeAll(async () => {
  stack = await startProcessStack({ name: 'shutdown', adminIds: String(ADMIN), media: true });
  client = new Client({ connection: await Connection.connect({ address: stack.temporal.address }) });
}, 90_000);

afterAll(async () => {
  await client?.connection.close();
  await stack?.stop();
});

function env(): Record<string, string> {
  return stack.env({
    ALLOW_PRIVATE_URLS: 'true',
    DIRECT_SOURCE: 'false',
    TELEGRAM_UPLOAD_LIMIT_MB: '0',
    HEARTBEAT_TIMEOUT_SECONDS: '10',
    RETRY_BASE_SECONDS: '0.5',
    // One attempt only: a drain must not spend it (the download is handed back, not failed).
    MAX_RETRIES: '0',
  });
}

test('SIGTERM (twice) mid-download: the worker stops in bounded time and hands the download back without spending an attempt; another worker resumes the partial file; the user is told once', async () => {
  const route = '/shutdown/clip.mp4';
  // Slow enough that the first worker's 10 s grace does not finish it.
  const url = stack.media.route(route, { bytesPerSecond: 1_000 });
  const first = await stack.startWorker(env());
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
  await eventually(() => (stack.media.bytesServed.get(route) ?? 0) > 3_000, 60_000, 'the download to be under way');
  // More than the first worker's 10 s grace can fetch is left, so the second one must resume it.
  expect(stack.media.clipSize).toBeGreaterThan(3_000 + 15 * 1_000);

  // The second worker is up before the first goes, as in a rolling restart.
  const second = await stack.startWorker(env());
  const stopping = Date.now();
  first.child.kill('SIGTERM');
  // A second signal during the drain (a double Ctrl-C, an impatient supervisor) does not cut it short.
  await new Promise((r) => setTimeout(r, 1_000));
  first.child.kill('SIGTERM');
  const code = await first.exited;
  expect(first.output()).toContain('already stopping');
  const tookMs = Date.now() - stopping;
  expect(code).toBe(0);
  // The SDK's 10 s grace for the download, then yt-dlp's stop and the worker's own clean-up.
  expect(tookMs).toBeLessThan(30_000);

  const done = await stack.telegram.waitForCall(
    (c) => c.method === 'sendMessage' && /Downloaded/.test(String(c.payload.text)),
    90_000,
    'the completion',
  );
  const savedAs = /Saved as: (.+)/.exec(String(done.payload.text))![1]!;
  expect(fs.statSync(path.join(stack.dir, 'downloads', savedAs)).size).toBe(stack.media.clipSize);
  // Resumed from the partial file, not started over.
  expect(Math.max(...(stack.media.rangeStarts.get(route) ?? [0]))).toBeGreaterThan(0);
  // Told once, whatever happened to the first worker.
  await new Promise((r) => setTimeout(r, 2_000));
  expect(stack.telegram.callsTo('sendMessage').filter((c) => /Downloaded/.test(String(c.payload.text)))).toHaveLength(1);
  // The interrupted attempt is recorded as a stop, not as the downloader's failure.
  await eventually(() => second.output().length > 0, 1_000, 'the second worker to log');
  const attempts = await stack.database.db.downloadAttempt.findMany({ where: { contentKey }, orderBy: { finishedAt: 'asc' } });
  expect(attempts.map((a) => [a.success, a.errorKind, a.counts])).toEqual([
    [false, 'WorkerShutdown', false],
    [true, null, true],
  ]);
  await downloads.settle();
  await second.stop();
}, 180_000);
