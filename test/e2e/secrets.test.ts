import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createRedis } from '../../lib/redis';
import { spawnEntryPoint } from '../support/entry-points';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventually } from '../support/eventually';
import { FakeBotApi, type RecordedCall } from '../support/fake-bot-api';
import { historyText } from '../support/history-text';
import { MediaServer } from '../support/media-server';
import { deleteKeys } from '../support/stack';
import { textMessage } from '../support/telegram-updates';
import { startTemporal, type TestTemporal } from '../support/temporal-server';

/**
 * The real worker and bot processes, started with a recognisable bot token and
 * passwords in every URL that can carry one, are put through a download, a
 * failure, refused links, an internal error and a shutdown. Not one log line
 * (of either process, stdout or stderr), not one Bot API call, not one
 * workflow history and not the environment yt-dlp or ffmpeg saw may contain
 * any of those secrets, in any of the forms they can take.
 * It also runs the private-address refusal as shipped (ALLOW_PRIVATE_URLS=false),
 * with only the media server's address listed in ALLOWED_PRIVATE_HOSTS.
 */

const ADMIN = 6001;
const TOKEN = '864209753:CANARYtokenForTheSecretsTest_abcXYZ';
const TELEGRAM_PASSWORD = 'tg-CANARY-pass/9012';
const DATABASE_PASSWORD = 'pg-CANARY-pass@1234';
const REDIS_PASSWORD = 'redis-CANARY-pass:5678';

/** Every form a secret can leak in: as set, URL-encoded (as in a URL), and in the request path with the token. */
const LEAK_FORMS = [
  TOKEN,
  encodeURIComponent(TOKEN),
  TOKEN.split(':')[1]!,
  TELEGRAM_PASSWORD,
  encodeURIComponent(TELEGRAM_PASSWORD),
  DATABASE_PASSWORD,
  encodeURIComponent(DATABASE_PASSWORD),
  REDIS_PASSWORD,
  encodeURIComponent(REDIS_PASSWORD),
];

let temporal: TestTemporal;
let database: TestDatabase;
let telegram: FakeBotApi;
let media: MediaServer;
let dir: string;
const processes: Array<{ name: string; child: ChildProcess; output: string[]; exited: Promise<void> }> = [];
const redisPrefix = `test:secrets:${process.pid}:`;

beforeAll(async () => {
  telegram = new FakeBotApi(TOKEN);
  media = new MediaServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-secrets-'));
  await Promise.all([
    startTemporal().then((t) => (temporal = t)),
    createTestDatabase().then((d) => (database = d)),
    telegram.start(),
    media.start(),
  ]);
});

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  const redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', redisPrefix);
  await deleteKeys(redis).finally(() => redis.disconnect());
  await Promise.all([temporal?.stop(), database?.drop(), telegram?.stop(), media?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A yt-dlp (or ffmpeg) on PATH that records the environment it was given, then runs the real one. */
function recordingBin(): string {
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  for (const name of ['yt-dlp', 'ffmpeg']) {
    const real = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\nenv >> '${path.join(dir, `${name}.env`)}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  }
  return bin;
}

function withPassword(url: string, password: string, user = ''): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString().replace(/\/$/, '');
}

function start(name: 'worker' | 'bot', env: Record<string, string>): void {
  const child = spawnEntryPoint(name, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  processes.push({ name, child, output, exited });
}

function replyTo(messageId: number, pattern: RegExp) {
  return (call: RecordedCall) =>
    call.method === 'sendMessage' &&
    (call.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId &&
    pattern.test(String(call.payload.text));
}

test('no secret reaches a log line, a Bot API call or the downloader, through a whole run of the real processes', async () => {
  const bin = recordingBin();
  const { port: mediaPort } = new URL(media.route('/secrets/none'));
  const env = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? '',
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: withPassword(telegram.apiRoot, TELEGRAM_PASSWORD, 'tg-user'),
    ADMIN_IDS: String(ADMIN),
    TELEGRAM_UPLOAD_LIMIT_MB: '0', // completion messages as text
    // Trust authentication ignores these passwords, so they can be set without a server that checks them.
    DATABASE_URL: withPassword(database.url, DATABASE_PASSWORD, 'postgres'),
    REDIS_URL: withPassword(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', REDIS_PASSWORD),
    REDIS_KEY_PREFIX: redisPrefix,
    TEMPORAL_ADDRESS: temporal.address,
    TASK_QUEUE: 'secrets',
    DOWNLOAD_TASK_QUEUE: 'secrets-downloads',
    DOWNLOAD_DIR: path.join(dir, 'downloads'),
    MIN_DISK_SPACE_GB: '0',
    MAX_RETRIES: '1',
    RETRY_BASE_SECONDS: '0.2',
    ALLOW_PRIVATE_URLS: 'false',
    ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
    LOG_LEVEL: 'debug',
  };
  start('worker', env);
  start('bot', env);

  // A download that works.
  const good = media.route('/secrets/clip.mp4');
  const first = textMessage({ userId: ADMIN, text: good });
  telegram.pushUpdate(first);
  await telegram.waitForCall(replyTo(first.message.message_id, /Downloaded/), 90_000, 'the completion message');

  // A download that fails, and links that are refused as private, disguised or not.
  const missing = media.route('/secrets/missing.mp4', { status: 404 });
  const second = textMessage({
    userId: ADMIN,
    text: `${missing} http://0x7f000002:${mediaPort}/secrets/clip.mp4 http://[::ffff:169.254.169.254]/latest/meta-data/ http://localhost:7233/`,
  });
  telegram.pushUpdate(second);
  const intake = await telegram.waitForCall(replyTo(second.message.message_id, /Not accepted/), 30_000, 'the intake reply');
  const text = String(intake.payload.text);
  expect(text).toContain('http://127.0.0.2:');
  expect(text).toContain('a loopback address (this server itself) (127.0.0.2)');
  expect(text).toContain('a cloud metadata service (169.254.169.254)');
  expect(text).toContain('an internal host name (localhost)');
  expect(text).toMatch(/Queued 1 download/);
  await telegram.waitForCall(replyTo(second.message.message_id, /Download failed/), 60_000, 'the failure message');
  expect(media.count('/secrets/clip.mp4')).toBe(1); // only the first message's file (fetched directly); the disguised link was never fetched

  // An internal error in the bot: Telegram refuses its reply (a 400 no retry can fix).
  telegram.failNext = 1;
  const third = textMessage({ userId: ADMIN, text: '/start' });
  telegram.pushUpdate(third);
  await telegram.waitForCall(
    (c) => c.method === 'sendMessage' && /Something went wrong/.test(String(c.payload.text)),
    30_000,
    'the apology',
  );

  for (const p of processes) p.child.kill('SIGINT');
  await Promise.all(processes.map((p) => p.exited));

  const logs = processes.map((p) => ({ name: p.name, text: p.output.join('') }));
  for (const { name, text: output } of logs) {
    expect(output).toContain(name === 'bot' ? '"msg":"bot started"' : '"msg":"worker started"');
    for (const secret of LEAK_FORMS)
      expect({ process: name, leaks: output.includes(secret) ? secret : null }).toEqual({ process: name, leaks: null });
  }
  // The worker names the yt-dlp it runs, and says when it is old.
  const worker = logs.find((l) => l.name === 'worker')!.text;
  expect(worker).toMatch(/"version":"\d{4}\.\d{2}\.\d{2}[^"]*".*"msg":"yt-dlp found"/);
  // The bot says where it polls without the password.
  expect(logs.find((l) => l.name === 'bot')!.text).toContain('http://tg-user:[REDACTED]@127.0.0.1');

  const calls = JSON.stringify(telegram.calls);
  for (const secret of LEAK_FORMS) expect({ botApiCalls: calls.includes(secret) ? secret : null }).toEqual({ botApiCalls: null });

  // Workflow histories, which the Web UI shows: inputs, results, failures, search attributes, memos.
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  try {
    const ids: string[] = [];
    for await (const workflow of client.workflow.list()) ids.push(workflow.workflowId);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    for (const id of ids) {
      const text = await historyText(client, id);
      for (const secret of LEAK_FORMS)
        expect({ history: id, leaks: text.includes(secret) ? secret : null }).toEqual({ history: id, leaks: null });
    }
  } finally {
    await client.connection.close();
  }

  for (const tool of ['yt-dlp', 'ffmpeg']) {
    const file = path.join(dir, `${tool}.env`);
    if (tool === 'ffmpeg' && !fs.existsSync(file)) continue; // a plain mp4 download needs no ffmpeg
    const seen = fs.readFileSync(file, 'utf8');
    expect(seen.length).toBeGreaterThan(0);
    for (const secret of LEAK_FORMS) expect({ tool, leaks: seen.includes(secret) ? secret : null }).toEqual({ tool, leaks: null });
    expect(seen).not.toMatch(/DATABASE_URL|REDIS_URL|TELEGRAM_/);
  }
}, 240_000);

test('a config error with the token pasted into the wrong variables never echoes it', async () => {
  const result = spawnEntryPoint('bot', {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEGRAM_BOT_TOKEN: TOKEN,
      ADMIN_IDS: `1,${TOKEN}`,
      LOG_LEVEL: TOKEN,
      ALLOWED_PRIVATE_HOSTS: TOKEN,
    },
  });
  let output = '';
  for (const stream of [result.stdout!, result.stderr!]) stream.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => result.once('exit', resolve));
  expect(code).toBe(1);
  expect(output).toMatch(/ADMIN_IDS[\s\S]*ALLOWED_PRIVATE_HOSTS[\s\S]*LOG_LEVEL/);
  for (const secret of LEAK_FORMS) expect(output.includes(secret) ? secret : null).toBeNull();
  await eventually(() => result.exitCode !== null, 1_000, 'the process to be gone');
});
