import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities';
import { activityDeps } from '../../activities/deps';
import { createDownloadActivities } from '../../activities/download';
import { INCOMPLETE_DIR, NO_EXTRA_FEATURES, type Progress, type YtDlpFeatures } from '../../activities/ytdlp';
import { probeYtDlp } from '../../activities/ytdlp-install';
import type { Db } from '../../lib/db';
import { createLogger } from '../../lib/logger';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import type { DownloadedFile, DownloadInput } from '../../domain/downloads/definitions';
import { MediaServer } from '../support/media-server';
import { eventually } from '../support/eventually';
import { testSettings } from '../support/settings';

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
  installed = (await probeYtDlp('yt-dlp'))?.features ?? NO_EXTRA_FEATURES;
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

let installed: YtDlpFeatures;

function deps(overrides: Partial<ActivityDeps> = {}): ActivityDeps {
  const settings = testSettings({ DOWNLOAD_DIR: downloadDir, SOCKET_TIMEOUT: 5, MIN_DISK_SPACE_GB: 0 });
  return {
    ...activityDeps(settings, {
      // Only the record writes the download activity makes; nothing else of the database is used here.
      db: {
        download: { updateMany: async (args: { data: Record<string, unknown> }) => (stateWrites.push(args.data), { count: 1 }) },
      } as unknown as Db,
      telegram: { sendReply: async () => undefined, sendFile: async () => ({ fileId: '', kind: 'document' as const }) },
      logger: createLogger({ level: 'silent' }),
      ytDlpFeatures: installed,
      freeBytes: async () => Number.MAX_SAFE_INTEGER,
      heartbeatEveryMs: 200,
    }),
    ...overrides,
  };
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
      downloadTaskQueue: 'unused',
      maxRetries: 3,
      retryBaseSeconds: 1,
      retryMaxSeconds: 10,
      diskRecheckSeconds: 1,
      diskWaitHours: 1,
      downloadTimeoutMinutes: 5,
      heartbeatTimeoutSeconds: 30,
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
  const midway = beats.filter(
    (b): b is Progress => b.status === 'downloading' && (b as Progress).percent !== null && (b as Progress).percent! < 100,
  );
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
])("$name from the server fails as $kind (retryable: $retryable), read from yt-dlp's own output", async ({ route, kind, retryable }) => {
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

/** The failure the download activity ends with (or a marker when it succeeded). */
async function failureOf(url: string, activityDeps: ActivityDeps = deps()): Promise<ApplicationFailure> {
  const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
  const outcome = await downloadIn(env, activityDeps, url).catch((e: unknown) => e);
  if (!(outcome instanceof ApplicationFailure)) throw new Error(`expected an ApplicationFailure, got ${JSON.stringify(outcome)}`);
  return outcome;
}

/** Files in the download directory, partial ones included. */
function filesLeft(): string[] {
  const incomplete = path.join(downloadDir, INCOMPLETE_DIR);
  const partial = fs.existsSync(incomplete) ? fs.readdirSync(incomplete).map((f) => `${INCOMPLETE_DIR}/${f}`) : [];
  return [...fs.readdirSync(downloadDir).filter((f) => f !== INCOMPLETE_DIR), ...partial];
}

describe('where a link may lead, checked again right before yt-dlp starts', () => {
  const unresolvable = async (): Promise<string[]> => {
    throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
  };

  test('a name the worker cannot resolve fails the attempt retryably: yt-dlp could resolve it differently a moment later', async () => {
    const failure = await failureOf('http://nowhere.example.test/clip.mp4', deps({ resolveHost: unresolvable }));
    expect(failure).toMatchObject({ type: 'Network', nonRetryable: false });
    expect(JSON.stringify(failure.details)).toContain('could not resolve nowhere.example.test to check where it leads (ENOTFOUND)');
  });

  test('behind a proxy (which resolves names itself) an unresolvable name is left to yt-dlp and the proxy', async () => {
    const failure = await failureOf('http://nowhere.example.test/clip.mp4', deps({ resolveHost: unresolvable, proxyResolvesHosts: true }));
    expect(failure).toMatchObject({ type: 'Network', nonRetryable: false });
    expect(JSON.stringify(failure.details)).not.toContain('could not resolve nowhere.example.test to check');
  });

  const strict = () => deps({ destinations: { allowPrivate: false, allowedHosts: [] } });

  test('a loopback link is refused as PrivateAddress, permanently, naming the address, and nothing is fetched', async () => {
    const url = media.route('/activity/ssrf.mp4');
    const failure = await failureOf(url, strict());
    expect(failure).toMatchObject({ type: 'PrivateAddress', nonRetryable: true });
    expect(failure.message).toContain('(127.0.0.1)');
    expect(media.count('/activity/ssrf.mp4')).toBe(0);
  });

  test('a name that resolves to a private address is refused as that address', async () => {
    const { port } = new URL(media.route('/activity/rebind.mp4'));
    const resolveHost = async (host: string) => (host === 'videos.example.test' ? ['10.20.30.40'] : []);
    const failure = await failureOf(`http://videos.example.test:${port}/activity/rebind.mp4`, { ...strict(), resolveHost });
    expect(failure).toMatchObject({ type: 'PrivateAddress', nonRetryable: true });
    expect(failure.message).toContain('(10.20.30.40)');
  });

  test('with ALLOW_PRIVATE_URLS the cloud metadata address is still refused', async () => {
    const failure = await failureOf('http://169.254.169.254/latest/meta-data/iam/', deps());
    expect(failure).toMatchObject({ type: 'PrivateAddress', nonRetryable: true });
    expect(failure.message).toContain('cloud metadata');
  });

  test('an address in ALLOWED_PRIVATE_HOSTS is downloaded even with private links refused', async () => {
    const url = media.route('/activity/allowed.mp4');
    const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
    const file = await downloadIn(
      env,
      deps({
        destinations: {
          allowPrivate: false,
          allowedHosts: [{ kind: 'range', text: '127.0.0.1', family: 'ipv4', network: '127.0.0.1', prefix: 32 }],
        },
      }),
      url,
    );
    expect(file.sizeBytes).toBe(media.clipSize);
  });
});

describe('limits yt-dlp itself enforces for us', () => {
  test('a page with several videos is refused as a playlist before any entry is downloaded', async () => {
    const first = media.route('/activity/entry-1.mp4');
    const second = media.route('/activity/entry-2.mp4');
    const page = path.join(media.dir, 'two-videos.html');
    fs.writeFileSync(
      page,
      `<html><head><title>Two</title></head><body><video src="${first}"></video><video src="${second}"></video></body></html>`,
    );
    const failure = await failureOf(media.route('/activity/two-videos.html', { file: page }));
    expect(failure).toMatchObject({ type: 'Playlist', nonRetryable: true });
    expect(failure.message).toMatch(/playlist/);
    expect(media.count('/activity/entry-1.mp4') + media.count('/activity/entry-2.mp4')).toBe(0);
    expect(filesLeft()).toEqual([]);
  });

  test('a stream without Content-Length is stopped as it passes MAX_FILE_SIZE, and its partial file removed', async () => {
    const route = '/activity/endless.mp4';
    const failure = await failureOf(media.route(route, { chunked: true, bytesPerSecond: 20_000 }), deps({ maxFileSizeBytes: 8 * 1024 }));
    expect(failure).toMatchObject({ type: 'TooLarge', nonRetryable: true });
    expect(failure.message).toBe('the file is larger than this server accepts (8.0 KB)');
    expect(media.bytesServed.get(route)!).toBeLessThan(media.clipSize); // stopped mid-stream, not at the end
    expect(filesLeft()).toEqual([]);
  });

  test('a fast stream without Content-Length that finishes over MAX_FILE_SIZE is refused by its final size and removed', async () => {
    const failure = await failureOf(media.route('/activity/unannounced.mp4', { chunked: true }), deps({ maxFileSizeBytes: 2 * 1024 }));
    expect(failure).toMatchObject({ type: 'TooLarge', nonRetryable: true });
    expect(filesLeft()).toEqual([]);
  });

  test('a file larger than MAX_FILE_SIZE fails at once as TooLarge, naming the limit, and leaves nothing', async () => {
    const failure = await failureOf(media.route('/activity/big.mp4'), deps({ maxFileSizeBytes: 1024 }));
    expect(failure).toMatchObject({ type: 'TooLarge', nonRetryable: true });
    expect(failure.message).toBe('the file is larger than this server accepts (1.0 KB)');
    expect(filesLeft()).toEqual([]);
  });
});

describe('final file names are safe to open, whatever the site calls them', () => {
  test.each([
    ['a title starting with "-"', '/activity/-rf.mp4', /^rf-[0-9a-f]{12}\.mp4$/],
    ['a title starting with "."', '/activity/.hidden.mp4', /^hidden-[0-9a-f]{12}\.mp4$/],
    ['a title starting with ".." (inside DOWNLOAD_DIR, not an escape)', '/activity/..x.mp4', /^x-[0-9a-f]{12}\.mp4$/],
    ['a media file behind a .bin link, named after its content', '/activity/stream.bin', /^stream-[0-9a-f]{12}\.mp4$/],
  ])('%s', async (_what, route, name) => {
    const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
    const file = await downloadIn(env, deps(), media.route(route));
    expect(file.filePath).toMatch(name);
    expect(fs.readFileSync(path.join(downloadDir, file.filePath))).toEqual(fs.readFileSync(media.clipPath));
    expect(filesLeft()).toEqual([file.filePath]);
  });

  test.each([
    ['a script behind a .bin link (yt-dlp keeps .bin; we refuse it)', 'payload.bin'],
    ['a script behind a .sh link (yt-dlp refuses it)', 'payload.sh'],
  ])('%s fails permanently as UnsafeFile and leaves no file', async (_what, name) => {
    const script = path.join(media.dir, name);
    fs.writeFileSync(script, '#!/bin/sh\necho pwned\n'.repeat(50));
    const failure = await failureOf(media.route(`/activity/${name}`, { file: script }));
    expect(failure).toMatchObject({ type: 'UnsafeFile', nonRetryable: true });
    expect(filesLeft().filter((f) => !f.endsWith('.part'))).toEqual([]);
  });

  test('a page title of 70 KB cannot hide the file from these checks: a script behind it is still refused and removed', async () => {
    const script = path.join(media.dir, 'hidden.bin');
    fs.writeFileSync(script, '#!/bin/sh\necho pwned\n'.repeat(50));
    const page = path.join(media.dir, 'long-title.html');
    fs.writeFileSync(
      page,
      `<html><head><title>${'A'.repeat(70_000)}</title></head><body><video src="${media.route('/activity/hidden.bin', { file: script })}"></video></body></html>`,
    );
    const failure = await failureOf(media.route('/activity/long-title.html', { file: page }));
    expect(failure).toMatchObject({ type: 'UnsafeFile', nonRetryable: true });
    expect(filesLeft().filter((f) => !f.endsWith('.part'))).toEqual([]);
  });

  test('a video under a 70 KB title downloads, with a title capped for the messages', async () => {
    const page = path.join(media.dir, 'long-title-video.html');
    fs.writeFileSync(
      page,
      `<html><head><title>${'B'.repeat(70_000)}</title></head><body><video src="${media.route('/activity/under-long-title.mp4')}"></video></body></html>`,
    );
    const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
    const file = await downloadIn(env, deps(), media.route('/activity/long-title-video.html', { file: page }));
    expect(file.sizeBytes).toBe(media.clipSize);
    expect(file.title.length).toBeLessThanOrEqual(300);
    expect(Buffer.byteLength(file.filePath)).toBeLessThanOrEqual(255);
  });
});

describe('what yt-dlp and ffmpeg are started with', () => {
  let bin: string;
  const saved = { ...process.env };
  beforeEach(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-bin-'));
  });
  afterEach(() => {
    process.env = { ...saved };
    fs.rmSync(bin, { recursive: true, force: true });
  });

  /** A stand-in for `name` on PATH that records its environment and arguments, then runs the real program. */
  function recording(name: string): { envFile: string; argsFile: string } {
    const real = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    const envFile = path.join(bin, `${name}.env`);
    const argsFile = path.join(bin, `${name}.args`);
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\nenv > '${envFile}'\nprintf '%s\\n' "$@" > '${argsFile}'\nexec '${real}' "$@"\n`, {
      mode: 0o755,
    });
    return { envFile, argsFile };
  }

  test('a minimal environment: never the bot token or the database and Redis URLs, even through ffmpeg', async () => {
    const ytDlp = recording('yt-dlp');
    const ffmpeg = recording('ffmpeg');
    process.env.PATH = `${bin}:${process.env.PATH}`;
    process.env.TELEGRAM_BOT_TOKEN = '123456789:ENV-leak-canary-token-abcdefghij';
    process.env.DATABASE_URL = 'postgresql://app:db-leak-canary@db/x';
    process.env.REDIS_URL = 'redis://:redis-leak-canary@cache:6379';
    process.env.LC_ALL = 'C.UTF-8';

    const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
    const audio = { ...input(media.route('/activity/env.mp4')), mode: 'audio' as const };
    const file = (await env.run(createDownloadActivities(deps()).download, audio)) as DownloadedFile;
    expect(file.filePath).toMatch(/\.mp3$/);

    for (const { envFile } of [ytDlp, ffmpeg]) {
      const seen = fs.readFileSync(envFile, 'utf8');
      expect(seen).not.toMatch(/leak-canary|TELEGRAM_BOT_TOKEN|DATABASE_URL|REDIS_URL/);
      expect(seen).toMatch(/^PATH=/m);
      expect(seen).toMatch(/^LC_ALL=C\.UTF-8$/m);
    }
  });

  test("the worker's Node is offered as yt-dlp's JavaScript runtime when yt-dlp supports --js-runtimes", async () => {
    const ytDlp = recording('yt-dlp');
    // Passed only to a yt-dlp that supports it; the real one (2025.04.30) does not, so record without running it.
    fs.writeFileSync(path.join(bin, 'yt-dlp'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${ytDlp.argsFile}'\nexit 1\n`, { mode: 0o755 });
    await failureOf(
      media.route('/activity/js.mp4'),
      deps({ ytDlpPath: path.join(bin, 'yt-dlp'), ytDlpFeatures: { jsRuntimes: true, noQuiet: true } }),
    );
    const args = fs.readFileSync(ytDlp.argsFile, 'utf8').split('\n');
    expect(args[args.indexOf('--js-runtimes') + 1]).toBe(`node:${process.execPath}`);
  });

  test('site text on stdout (a title line) does not decide the kind of a failure', async () => {
    fs.writeFileSync(
      path.join(bin, 'yt-dlp'),
      "#!/bin/sh\necho '[download] Destination: members-only no space left on device HTTP Error 404.mp4'\nexit 0\n",
      { mode: 0o755 },
    );
    const failure = await failureOf(media.route('/activity/site-text.mp4'), deps({ ytDlpPath: path.join(bin, 'yt-dlp') }));
    expect(failure).toMatchObject({ type: 'Unknown', nonRetryable: false });
    expect(JSON.stringify(failure.details)).toContain('yt-dlp finished without reporting a file');
  });

  test('a final file yt-dlp wrote without reporting it is removed; an earlier download of the same content is kept', async () => {
    const earlier = path.join(downloadDir, 'earlier-0123456789ab.mp4');
    fs.writeFileSync(earlier, 'kept');
    fs.utimesSync(earlier, new Date(Date.now() - 3_600_000), new Date(Date.now() - 3_600_000));
    const contentKey = input(media.route('/activity/unreported.mp4')).contentKey;
    const stray = path.join(downloadDir, `stray-${contentKey.slice(0, 12)}.sh`);
    fs.writeFileSync(path.join(bin, 'yt-dlp'), `#!/bin/sh\necho 'echo pwned' > '${stray}'\necho 'ERROR: something odd' >&2\nexit 1\n`, {
      mode: 0o755,
    });
    await failureOf(media.route('/activity/unreported.mp4'), deps({ ytDlpPath: path.join(bin, 'yt-dlp') }));
    expect(fs.existsSync(stray)).toBe(false);
    expect(fs.readFileSync(earlier, 'utf8')).toBe('kept');
  });

  test('a yt-dlp that prints a 50 MB line costs a bounded buffer, and the lines after it are still read', async () => {
    const target = path.join(downloadDir, 'fake-0123456789ab.mp4');
    const script = [
      '#!/bin/sh',
      "head -c 50000000 /dev/zero | tr '\\0' 'x'",
      'echo',
      `cp '${media.clipPath}' '${target}'`,
      `echo 'MEDIADL_RESULT {"title":"fake","id":"1","filepath":"${target}","extractor":"Generic"}'`,
    ].join('\n');
    fs.writeFileSync(path.join(bin, 'yt-dlp'), `${script}\n`, { mode: 0o755 });
    const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 5);
    const file = await downloadIn(env, deps({ ytDlpPath: path.join(bin, 'yt-dlp') }), media.route('/activity/fake.mp4')).finally(() =>
      clearInterval(sampler),
    );
    expect(file).toMatchObject({ title: 'fake', filePath: 'fake-0123456789ab.mp4', sizeBytes: media.clipSize });
    // Holding the line would take 100 MB (UTF-16); the reader holds 64 K characters of it.
    expect(peak - before).toBeLessThan(60 * 1024 * 1024);
  });
});

describe('the direct source: plain media files without yt-dlp', () => {
  const direct = (overrides: Partial<ActivityDeps> = {}) => deps({ directSource: true, ...overrides });

  test('a media link is streamed by the worker itself: the whole file, named like yt-dlp names it, progress in the heartbeat', async () => {
    const url = media.route('/direct/plain-file.mp4', { bytesPerSecond: 30_000 });
    const env = new MockActivityEnvironment({ attempt: 1 }, quiet);
    const beats: Array<Record<string, unknown>> = [];
    env.on('heartbeat', (d: unknown) => beats.push(d as Record<string, unknown>));
    const file = await downloadIn(env, direct(), url);
    expect(file).toMatchObject({ title: 'plain-file', sizeBytes: media.clipSize });
    expect(file.filePath).toMatch(/^plain-file-[0-9a-f]{12}\.mp4$/);
    expect(fs.readFileSync(path.join(downloadDir, file.filePath))).toEqual(fs.readFileSync(media.clipPath));
    expect(beats.some((b) => b.source === 'direct' && typeof b.downloadedBytes === 'number' && (b.downloadedBytes as number) > 0)).toBe(
      true,
    );
    expect(processesMentioning('/direct/plain-file.mp4')).toEqual([]);
    // Nothing is left in .incomplete.
    expect(fs.readdirSync(path.join(downloadDir, '.incomplete'))).toEqual([]);
  });

  test('a link without an extension is taken when its HEAD answers with a media type', async () => {
    const url = media.route('/direct/stream');
    const file = await downloadIn(new MockActivityEnvironment({ attempt: 1 }, quiet), direct(), url);
    expect(file.filePath).toMatch(/^stream-[0-9a-f]{12}\.mp4$/);
    expect(file.sizeBytes).toBe(media.clipSize);
  });

  test('an attempt stopped midway leaves its .part; the next asks for the rest with Range and finishes the same bytes', async () => {
    const route = '/direct/resumed.mp4';
    const url = media.route(route, { bytesPerSecond: 8_000 });
    const first = new MockActivityEnvironment({ attempt: 1 }, quiet);
    const running = downloadIn(first, direct(), url);
    const part = path.join(downloadDir, '.incomplete', `direct-${input(url).contentKey.slice(0, 12)}.part`);
    await eventually(() => fs.existsSync(part) && fs.statSync(part).size > 8_000, 30_000, 'part of the file');
    first.cancel();
    await expect(running).rejects.toBeInstanceOf(CancelledFailure);
    const kept = fs.statSync(part).size;
    // The attempt ended with its file closed: nothing more is written to it afterwards.
    await new Promise((r) => setTimeout(r, 500));
    expect(fs.statSync(part).size).toBe(kept);
    expect(kept).toBeGreaterThan(8_000);

    media.route(route);
    const file = await downloadIn(new MockActivityEnvironment({ attempt: 2 }, quiet), direct(), url);
    expect(media.rangeStarts.get(route)).toEqual([kept]);
    expect(fs.readFileSync(path.join(downloadDir, file.filePath))).toEqual(fs.readFileSync(media.clipPath));
  });

  test('HTML is refused (NotMedia, permanent), and nothing is written', async () => {
    const url = media.page('/direct/not-a-video.mp4', '<html><body>Sign in to watch</body></html>');
    const failure = await failureOf(url, direct());
    expect(failure).toMatchObject({ type: 'NotMedia', nonRetryable: true });
    expect(failure.message).toContain('text/html');
    expect(fs.readdirSync(downloadDir).filter((f) => f !== '.incomplete')).toEqual([]);
  });

  test('a redirect to a forbidden address is refused at that hop, before connecting', async () => {
    const url = media.route('/direct/to-metadata.mp4', { redirectTo: 'http://169.254.169.254/latest/meta-data/x.mp4' });
    const failure = await failureOf(url, direct());
    expect(failure).toMatchObject({ type: 'PrivateAddress', nonRetryable: true });
    expect(failure.message).toContain('cloud metadata');
  });

  test('a redirect to a name that resolves to a private address is refused by the lookup the connection uses', async () => {
    const { port } = new URL(media.route('/direct/inside.mp4'));
    const url = media.route('/direct/to-inside.mp4', { redirectTo: `http://inside.example.test:${port}/direct/inside.mp4` });
    // The first hop (127.0.0.1) is allowed; the name the redirect gives resolves to the private network.
    const resolveHost = async (host: string) => (host === 'inside.example.test' ? ['10.20.30.40'] : ['127.0.0.1']);
    const allowLoopback = {
      allowPrivate: false,
      allowedHosts: [{ kind: 'range' as const, text: '127.0.0.1', family: 'ipv4' as const, network: '127.0.0.1', prefix: 32 }],
    };
    const failure = await failureOf(url, direct({ destinations: allowLoopback, resolveHost }));
    expect(failure).toMatchObject({ type: 'PrivateAddress', nonRetryable: true });
    expect(failure.message).toContain('10.20.30.40');
    expect(media.count('/direct/inside.mp4')).toBe(0);
  });

  test('a file the server announces as larger than MAX_FILE_SIZE is refused before its body is read', async () => {
    const route = '/direct/too-large.mp4';
    const failure = await failureOf(media.route(route, { bytesPerSecond: 10_000 }), direct({ maxFileSizeBytes: 1_000 }));
    expect(failure).toMatchObject({ type: 'TooLarge', nonRetryable: true });
    expect(media.bytesServed.get(route) ?? 0).toBeLessThan(media.clipSize);
  });

  test('a stream without a size is stopped the moment it passes MAX_FILE_SIZE, and nothing is kept', async () => {
    const route = '/direct/endless.mp4';
    const failure = await failureOf(media.route(route, { chunked: true }), direct({ maxFileSizeBytes: 10_000 }));
    expect(failure).toMatchObject({ type: 'TooLarge', nonRetryable: true });
    expect(fs.readdirSync(path.join(downloadDir, '.incomplete'))).toEqual([]);
    expect(fs.readdirSync(downloadDir).filter((f) => f !== '.incomplete')).toEqual([]);
  });

  test('audio, or a quality or container asked for, goes to yt-dlp: the direct source would save the file as served', async () => {
    const url = media.route('/direct/for-audio.mp4');
    const audio = { ...input(url), mode: 'audio' as const };
    const file = (await new MockActivityEnvironment({ attempt: 1 }, quiet).run(
      createDownloadActivities(direct()).download,
      audio,
    )) as DownloadedFile;
    expect(file.filePath).toMatch(/\.mp3$/);
  });

  test('404 and 503 are classified as yt-dlp failures are: permanent and transient', async () => {
    expect(await failureOf(media.route('/direct/missing.mp4', { status: 404 }), direct())).toMatchObject({
      type: 'NotFound',
      nonRetryable: true,
    });
    expect(await failureOf(media.route('/direct/busy.mp4', { failFirst: 5, failStatus: 503 }), direct())).toMatchObject({
      type: 'ServerError',
      nonRetryable: false,
    });
  });
});

describe('USE_ARIA2C: yt-dlp hands plain HTTP formats to aria2c', () => {
  test('aria2c fetches the file with ARIA2C_CONNECTIONS connections, and the file is whole', async () => {
    const route = '/aria2c/clip.mp4';
    const url = media.route(route, { bytesPerSecond: 15_000 });
    const base = deps();
    const running = downloadIn(
      new MockActivityEnvironment({ attempt: 1 }, quiet),
      deps({ ytDlpSettings: { ...base.ytDlpSettings, useAria2c: true, aria2cConnections: 4 } }),
      url,
    );
    const aria2c = () =>
      processesMentioning(route).map((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        } catch {
          return [];
        }
      });
    let seen: string[] | undefined;
    await eventually(
      () => (seen = aria2c().find((args) => path.basename(args[0] ?? '') === 'aria2c')) !== undefined,
      30_000,
      'aria2c to run',
    );
    expect(seen).toEqual(expect.arrayContaining(['-x', '4', '-s', '4']));
    const file = await running;
    expect(fs.readFileSync(path.join(downloadDir, file.filePath))).toEqual(fs.readFileSync(media.clipPath));
  });
});

describe('COOKIES_FILE', () => {
  test('yt-dlp gets a private copy: the file itself is never written, and no copy is left behind', async () => {
    const cookies = path.join(downloadDir, '..', `cookies-${path.basename(downloadDir)}.txt`);
    const text = '# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\tsecret-cookie-value-123\n';
    fs.writeFileSync(cookies, text, { mode: 0o400 });
    const before = fs.statSync(cookies).mtimeMs;
    const copies = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('mediadl-cookies-'));
    const leftBefore = copies().length;
    try {
      const base = deps();
      const file = await downloadIn(
        new MockActivityEnvironment({ attempt: 1 }, quiet),
        deps({ ytDlpSettings: { ...base.ytDlpSettings, cookiesFile: cookies } }),
        media.route('/cookies/clip.mp4'),
      );
      expect(file.sizeBytes).toBe(media.clipSize);
      expect(fs.readFileSync(cookies, 'utf8')).toBe(text);
      expect(fs.statSync(cookies).mtimeMs).toBe(before);
      expect(copies().length).toBe(leftBefore);
    } finally {
      fs.rmSync(cookies, { force: true });
    }
  });
});
