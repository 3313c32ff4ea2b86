import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities';
import { createDownloadActivities } from '../../activities/download';
import { INCOMPLETE_DIR, type Progress } from '../../activities/ytdlp';
import { createLogger } from '../../lib/logger';
import { contentKeyFor, parseMediaUrl } from '../../lib/urls';
import type { DownloadedFile, DownloadInput } from '../../workflows/definitions';
import { MediaServer } from '../support/media-server';
import { eventually } from '../support/eventually';

/**
 * The download activity with the real yt-dlp against a local media server:
 * progress heartbeats, cancellation that kills yt-dlp, resuming a partial file
 * on the next attempt, and failures classified from yt-dlp's real output.
 */

let media: MediaServer;
let downloadDir: string;
const stateWrites: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  media = new MediaServer();
  await media.start();
});

afterAll(async () => {
  await media.stop();
});

beforeEach(() => {
  downloadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-activity-'));
  stateWrites.length = 0;
});

afterEach(() => {
  fs.rmSync(downloadDir, { recursive: true, force: true });
});

function deps(): ActivityDeps {
  return {
    db: { download: { updateMany: async (args: { data: Record<string, unknown> }) => (stateWrites.push(args.data), { count: 1 }) } },
    telegram: { sendReply: async () => undefined },
    logger: createLogger({ level: 'silent' }),
    downloadDir,
    minDiskSpaceGb: 0,
    ytDlpPath: 'yt-dlp',
    socketTimeoutSeconds: 5,
    freeBytes: async () => Number.MAX_SAFE_INTEGER,
    heartbeatEveryMs: 200,
  } as unknown as ActivityDeps;
}

function input(url: string): DownloadInput {
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error('bad url');
  return {
    contentKey: contentKeyFor(parsed.url, 'video'),
    url,
    normalizedUrl: parsed.url.normalized,
    platform: parsed.url.platform,
    videoId: parsed.url.videoId,
    mode: 'video',
    correlationId: 'activity-test',
    policy: {
      downloadTaskQueue: 'unused', maxRetries: 3, retryBaseSeconds: 1, retryMaxSeconds: 10,
      diskRecheckSeconds: 1, diskWaitHours: 1, downloadTimeoutMinutes: 5, heartbeatTimeoutSeconds: 30,
    },
  };
}

/** PIDs of running processes whose command line mentions `text` (yt-dlp gets the URL as an argument). */
function processesMentioning(text: string): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return [];
    try {
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      return cmdline.includes(text) && !cmdline.includes('jest') ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

const quiet = { logger: new DefaultLogger('ERROR') };

/** Runs the download activity as attempt `attempt` would run in a worker. */
function downloadIn(env: MockActivityEnvironment, activityDeps: ActivityDeps, url: string) {
  return env.run(createDownloadActivities(activityDeps).download, input(url)) as Promise<DownloadedFile>;
}

test('a download heartbeats its progress (percent, bytes, speed) and leaves the file in DOWNLOAD_DIR', async () => {
  const url = media.route('/activity/progress.mp4', { bytesPerSecond: 40_000 });
  const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
  const beats: Array<Progress | { status: 'starting' }> = [];
  env.on('heartbeat', (details: Progress) => beats.push(details));

  const file = await downloadIn(env, deps(), url);

  expect(file.sizeBytes).toBe(media.clipSize);
  expect(file.title).toBe('progress');
  expect(fs.readFileSync(path.join(downloadDir, file.filePath))).toEqual(fs.readFileSync(media.clipPath));
  const midway = beats.filter((b): b is Progress => b.status === 'downloading' && (b as Progress).percent !== null && (b as Progress).percent! < 100);
  expect(midway.length).toBeGreaterThan(0);
  expect(midway.every((b) => b.totalBytes === media.clipSize && b.downloadedBytes! > 0)).toBe(true);
  // yt-dlp reports no speed on its very first line; later ones carry it.
  expect(midway.some((b) => typeof b.speed === 'number' && b.speed > 0)).toBe(true);
  expect(stateWrites[0]).toMatchObject({ state: 'downloading', attempts: 1 });
});

test('cancelling the activity kills yt-dlp, and the next attempt resumes the partial file', async () => {
  const route = '/activity/resume.mp4';
  const url = media.route(route, { bytesPerSecond: 8_000 });
  const first = new MockActivityEnvironment({ attempt: 1 }, quiet);
  let received = 0;
  first.on('heartbeat', (details: Progress) => {
    received = Math.max(received, details.downloadedBytes ?? 0);
  });
  const running = downloadIn(first, deps(), url);
  await eventually(() => received > 8_000, 30_000, 'some bytes to arrive');
  expect(processesMentioning(route).length).toBeGreaterThan(0);

  first.cancel();
  await expect(running).rejects.toBeInstanceOf(CancelledFailure);
  await eventually(() => processesMentioning(route).length === 0, 10_000, 'yt-dlp to exit');
  const partials = fs.readdirSync(path.join(downloadDir, INCOMPLETE_DIR)).filter((f) => f.endsWith('.part'));
  expect(partials).toHaveLength(1);
  const partialSize = fs.statSync(path.join(downloadDir, INCOMPLETE_DIR, partials[0]!)).size;
  expect(partialSize).toBeGreaterThan(0);

  media.route(route); // full speed for the retry
  const second = new MockActivityEnvironment({ attempt: 2 }, quiet);
  const file = await downloadIn(second, deps(), url);

  expect(media.rangeStarts.get(route)?.some((start) => start > 0 && start <= partialSize)).toBe(true);
  expect(fs.readFileSync(path.join(downloadDir, file.filePath))).toEqual(fs.readFileSync(media.clipPath));
  expect(stateWrites.at(-1)).toMatchObject({ state: 'downloading', attempts: 2 });
});

test.each([
  { name: 'a 404', route: { status: 404 }, kind: 'NotFound', retryable: false },
  { name: 'a 503', route: { failFirst: 100, failStatus: 503 }, kind: 'ServerError', retryable: true },
  { name: 'a 429', route: { failFirst: 100, failStatus: 429 }, kind: 'RateLimited', retryable: true },
])('$name from the server fails as $kind (retryable: $retryable), read from yt-dlp\'s own output', async ({ route, kind, retryable }) => {
  const url = media.route(`/activity/fails-${kind}.mp4`, route);
  const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
  const failure = await downloadIn(env, deps(), url).catch((e: unknown) => e);

  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ type: kind, nonRetryable: !retryable });
  expect((failure as ApplicationFailure).message).not.toMatch(/ERROR:|please report/);
});

test('a page with no video fails at once as unsupported', async () => {
  const page = path.join(media.dir, 'page.html');
  fs.writeFileSync(page, '<html><body><p>No video here</p></body></html>');
  const url = media.route('/activity/page.html', { file: page });
  const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
  const failure = await downloadIn(env, deps(), url).catch((e: unknown) => e);
  expect(failure).toMatchObject({ type: 'Unsupported', nonRetryable: true });
});

test('a missing yt-dlp binary is reported as a retryable failure naming YTDLP_PATH, not a crash', async () => {
  const url = media.route('/activity/no-binary.mp4');
  const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
  const failure = await downloadIn(env, { ...deps(), ytDlpPath: '/nonexistent/yt-dlp' }, url).catch((e: unknown) => e);
  expect(failure).toMatchObject({ type: 'Unknown', nonRetryable: false });
  expect(JSON.stringify((failure as ApplicationFailure).details)).toContain('/nonexistent/yt-dlp');
});
