import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventuallyAsync } from '../support/eventually';
import { spawnEntryPoint } from '../support/entry-points';
import { FakeBotApi } from '../support/fake-bot-api';
import { freePort } from '../support/free-port';
import { MediaServer } from '../support/media-server';
import { createRedis } from '../../lib/redis';
import { BOT_TOKEN, deleteKeys } from '../support/stack';
import { textMessage } from '../support/telegram-updates';

/**
 * `npm run dev` as a newcomer runs it: one command brings up Temporal (Web UI,
 * persisted state), the worker and the bot; a link sent to the bot lands on
 * disk; Ctrl-C stops everything.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const ADMIN = 7001;

let telegram: FakeBotApi;
let media: MediaServer;
let database: TestDatabase;
let dir: string;
let dev: ChildProcess | undefined;
let output = '';
let allExited: Promise<void> | undefined;
let stopped = false;
const redisPrefix = `test:dev:${process.pid}:${Date.now()}:`;

beforeAll(async () => {
  telegram = new FakeBotApi(BOT_TOKEN);
  media = new MediaServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-dev-'));
  // The database is recorded as soon as it exists, so afterAll drops it even if a server failed to start.
  await Promise.all([createTestDatabase().then((d) => (database = d)), telegram.start(), media.start()]);
});

afterAll(async () => {
  // If the test failed before its Ctrl-C, stop the stack the way a user would, then force it.
  if (dev?.pid && allExited && !stopped) {
    try {
      process.kill(-dev.pid, 'SIGINT');
    } catch {
      // Gone already.
    }
    await Promise.race([allExited, new Promise((r) => setTimeout(r, 40_000))]);
  }
  const redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', redisPrefix);
  await deleteKeys(redis).finally(() => redis.disconnect());
  try {
    if (dev?.pid) process.kill(-dev.pid, 'SIGKILL');
  } catch {
    // The group is already gone: the test stopped it.
  }
  await Promise.all([database?.drop(), telegram?.stop(), media?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** PIDs of processes started with `marker` in their environment (everything the stack spawned inherits it). */
function processesWith(marker: string): number[] {
  return fs.readdirSync('/proc').flatMap((entry) => {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return [];
    try {
      return fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(marker) ? [Number(entry)] : [];
    } catch {
      return [];
    }
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(output)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `npm run dev` in its own process group with the test's services and `env`; collects its output. */
function startDev(env: Record<string, string>): void {
  output = '';
  stopped = false;
  dev = spawn('npm', ['run', 'dev'], {
    cwd: ROOT,
    detached: true, // its own process group, so the test can "press Ctrl-C" on all of it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      REDIS_KEY_PREFIX: redisPrefix,
      MIN_DISK_SPACE_GB: '0',
      ALLOW_PRIVATE_URLS: 'true', // the media server is on loopback
      DIRECT_SOURCE: 'false', // the dev stack's downloads go through yt-dlp here
      TELEGRAM_UPLOAD_LIMIT_MB: '0', // completion messages as text
      LOG_LEVEL: 'info',
      MONITOR_JOURNAL_DIR: path.join(dir, 'attempts'),
      ...env,
    },
  });
  for (const stream of [dev.stdout!, dev.stderr!]) stream.on('data', (d: Buffer) => (output += d.toString()));
  // Every process of the stack writes to this pipe: it closes when the last one exits.
  allExited = new Promise<void>((resolve) => dev!.stdout!.on('close', () => resolve()));
}

test('npm run dev starts Temporal with its UI, the worker, the bot and the API; a link is downloaded; Ctrl-C stops all', async () => {
  const [temporalPort, uiPort, apiPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const apiToken = 'dev-stack-test-token-0123456789abcdef';
  const dbFile = path.join(dir, 'state', 'temporal.db');
  const downloadDir = path.join(dir, 'downloads');
  startDev({
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: telegram.apiRoot,
    ADMIN_IDS: String(ADMIN),
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_UI_PORT: String(uiPort),
    TEMPORAL_DEV_DB_FILE: dbFile,
    DOWNLOAD_DIR: downloadDir,
    API_TOKEN: apiToken,
    API_PORT: String(apiPort),
    WORKER_METRICS_PORT: String(metricsPort),
  });

  await waitForOutput(/\[worker\s*\] .*"worker started"/, 90_000);
  await waitForOutput(/\[bot\s*\] .*"bot started"/, 30_000);
  await waitForOutput(/\[api\s*\] .*"API listening"/, 30_000);
  const ready = await fetch(`http://127.0.0.1:${apiPort}/readyz`);
  expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 200, body: { ready: true, failing: [] } });
  expect(await listening(uiPort)).toBe(true);
  expect(fs.existsSync(dbFile)).toBe(true);

  const url = media.route('/dev/clip.mp4');
  const update = textMessage({ userId: ADMIN, text: url });
  telegram.pushUpdate(update);
  const done = await telegram.waitForCall(
    (c) => c.method === 'sendMessage' && /Downloaded/.test(String(c.payload.text)),
    60_000,
    'the completion message',
  );
  const savedAs = /Saved as: (.+)/.exec(String(done.payload.text))![1]!;
  expect(fs.statSync(path.join(downloadDir, savedAs)).size).toBe(media.clipSize);

  // The attempt reaches the monitoring (API) and the worker's metrics, beside the Temporal SDK's own.
  const api = (route: string) => fetch(`http://127.0.0.1:${apiPort}${route}`, { headers: { authorization: `Bearer ${apiToken}` } });
  await eventuallyAsync(
    async () => {
      const status = (await (await api('/api/monitoring/status')).json()) as { downloaders: { downloader: string; successes: number }[] };
      return status.downloaders.some((d) => d.downloader === 'generic' && d.successes === 1);
    },
    15_000,
    'the attempt in the monitoring status',
  );
  const workerMetrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  expect(workerMetrics).toMatch(/^mediadl_downloads_completed_total\{downloader="generic"\} 1$/m);
  expect(workerMetrics).toMatch(/^temporal_\w+/m);

  // Ctrl-C in a terminal signals the whole foreground process group.
  process.kill(-dev!.pid!, 'SIGINT');
  await allExited;
  stopped = true;
  expect(await listening(temporalPort)).toBe(false);
  expect(await listening(uiPort)).toBe(false);
  // Not one process of the stack is left: not Temporal, not the worker, not the bot.
  expect(processesWith(`TEMPORAL_DEV_DB_FILE=${dbFile}`)).toEqual([]);

  const lines = output.split('\n').filter((l) => l.trim() && !l.startsWith('>') && !l.startsWith('npm warn'));
  const unlabelled = lines.filter((l) => !/^\[(temporal|worker|bot|api|dev) *\] /.test(l));
  expect(unlabelled).toEqual([]);
  // eslint-disable-next-line no-control-regex
  expect(output).not.toMatch(/\u001b\[/);
  expect(output).toContain('[dev     ] stopped');
  // The bot and the worker stop while Temporal still answers; Temporal goes last.
  const temporalExit = output.indexOf('temporal exited');
  expect(output.indexOf('bot exited')).toBeGreaterThan(-1);
  expect(output.indexOf('worker exited')).toBeGreaterThan(-1);
  expect(output.indexOf('bot exited')).toBeLessThan(temporalExit);
  expect(output.indexOf('worker exited')).toBeLessThan(temporalExit);
  expect(output.indexOf('api exited')).toBeGreaterThan(-1);
  expect(output.indexOf('api exited')).toBeLessThan(temporalExit);
  expect(await listening(apiPort)).toBe(false);
  expect(output).not.toContain(BOT_TOKEN);
});

test('without a bot token npm run dev runs all but the bot, says so once, and npm run ops downloads; Ctrl-C shows no wall of shutdown warnings', async () => {
  const [temporalPort, uiPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const dbFile = path.join(dir, 'first-run', 'temporal.db');
  const downloadDir = path.join(dir, 'first-run-downloads');
  const common = { TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, DOWNLOAD_DIR: downloadDir };
  // Empty values count as unset, and win over a developer's .env.
  startDev({
    ...common,
    TELEGRAM_BOT_TOKEN: '',
    ADMIN_IDS: '',
    TEMPORAL_UI_PORT: String(uiPort),
    TEMPORAL_DEV_DB_FILE: dbFile,
    API_PORT: String(apiPort),
    WORKER_METRICS_PORT: '0',
  });
  await waitForOutput(/\[worker\s*\] .*"worker started"/, 90_000);
  await waitForOutput(/\[api\s*\] .*"API listening"/, 30_000);
  expect(output.match(/the Telegram bot is off until TELEGRAM_BOT_TOKEN and ADMIN_IDS are set/g)).toHaveLength(1);
  expect(output).toContain('npm run ops -- download <url> --wait');

  const url = media.route('/dev/first-run.mp4');
  const ops = spawnEntryPoint('ops', {
    cwd: dir,
    args: ['download', url, '--wait'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', DATABASE_URL: database.url, ALLOW_PRIVATE_URLS: 'true', ...common },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let opsOut = '';
  ops.stdout!.on('data', (d: Buffer) => (opsOut += d.toString()));
  const code = await new Promise((resolve) => ops.on('close', resolve));
  expect({ code, opsOut }).toMatchObject({ code: 0, opsOut: expect.stringMatching(/Saved as: /) });
  const savedAs = /Saved as: (\S+)/.exec(opsOut)![1]!;
  expect(fs.statSync(path.join(downloadDir, savedAs)).size).toBe(media.clipSize);

  process.kill(-dev!.pid!, 'SIGINT');
  await allExited;
  stopped = true;
  expect(processesWith(`TEMPORAL_DEV_DB_FILE=${dbFile}`)).toEqual([]);
  // Temporal's own shutdown lines are counted, not shown.
  const afterStop = output.slice(output.indexOf('[dev     ] stopping'));
  expect(afterStop.split('\n').filter((l) => l.startsWith('[temporal]'))).toEqual([]);
  expect(output).toMatch(/temporal exited .*/);
  expect(output).not.toContain('bot exited');
});
