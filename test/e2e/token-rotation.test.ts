import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRedis } from '../../lib/redis';
import { replyTo } from '../support/bot-messages';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { spawnEntryPoint } from '../support/entry-points';
import { eventually } from '../support/eventually';
import { FakeBotApi } from '../support/fake-bot-api';
import { MediaServer } from '../support/media-server';
import { deleteKeys } from '../support/stack';
import { textMessage } from '../support/telegram-updates';
import { startTemporal, type TestTemporal } from '../support/temporal-server';

/**
 * The runbook's "Rotate the bot token" (docs/runbook.md, section 8), on the real
 * bot and worker processes against the fake Bot API standing in for Telegram and
 * @BotFather: the token is revoked while a download runs, the bot and the worker
 * are restarted with the new one, and the completion message the worker could
 * not send with the old token still arrives, once.
 */

const ADMIN = 6201;
const OLD_TOKEN = '555000111:OLDtokenForTheRotationTest_abcdefgh';
const NEW_TOKEN = '555000111:NEWtokenForTheRotationTest_ijklmnop';

let temporal: TestTemporal;
let database: TestDatabase;
let telegram: FakeBotApi;
let media: MediaServer;
let dir: string;
const processes: Array<{ name: string; token: string; child: ChildProcess; output: string[]; exited: Promise<number | null> }> = [];
const redisPrefix = `test:rotation:${process.pid}:`;

beforeAll(async () => {
  telegram = new FakeBotApi(OLD_TOKEN);
  media = new MediaServer();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-rotation-'));
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

function start(name: 'worker' | 'bot', token: string): (typeof processes)[number] {
  const child = spawnEntryPoint(name, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEGRAM_BOT_TOKEN: token,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      ADMIN_IDS: String(ADMIN),
      TELEGRAM_UPLOAD_LIMIT_MB: '0', // completion messages as text
      DATABASE_URL: database.url,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      REDIS_KEY_PREFIX: redisPrefix,
      TEMPORAL_ADDRESS: temporal.address,
      TASK_QUEUE: 'rotation',
      DOWNLOAD_TASK_QUEUE: 'rotation-downloads',
      DOWNLOAD_DIR: path.join(dir, 'downloads'),
      MIN_DISK_SPACE_GB: '0',
      ALLOW_PRIVATE_URLS: 'true', // the media server is on loopback
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = { name, token, child, output, exited };
  processes.push(started);
  return started;
}

async function stop(p: (typeof processes)[number]): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  await p.exited;
}

test('revoked while a download runs: restarted with the new token, the bot answers and the held-up completion message arrives once', async () => {
  const worker = start('worker', OLD_TOKEN);
  const bot = start('bot', OLD_TOKEN);
  await eventually(() => telegram.calls.some((c) => c.method === 'setMyCommands'), 30_000, 'the bot to start');

  // A download that is still running when the token is revoked.
  const url = media.route('/rotation/clip.mp4', { delayMs: 2_000 });
  const asked = textMessage({ userId: ADMIN, text: url });
  telegram.pushUpdate(asked);
  await telegram.waitForCall(replyTo(ADMIN, asked.message.message_id, /Queued 1 download/), 30_000, 'the intake reply');

  // 1. @BotFather's /revoke: the old token is refused from now on.
  telegram.revoke(NEW_TOKEN);
  // The download ends, and the worker's completion message is refused with 401 (Temporal will retry it).
  await eventually(() => telegram.refused.some((r) => r.method === 'sendMessage'), 60_000, 'the completion message to be refused');

  // 2-3. The new token in the environment, and the bot and every worker restarted.
  await Promise.all([stop(bot), stop(worker)]);
  const newWorker = start('worker', NEW_TOKEN);
  const newBot = start('bot', NEW_TOKEN);
  const refusedBefore = telegram.refused.length;

  // 4. /start from an admin: answered.
  const hello = textMessage({ userId: ADMIN, text: '/start' });
  telegram.pushUpdate(hello);
  const helloAt = Date.now();
  await telegram.waitForCall(
    (c) =>
      c.method === 'sendMessage' &&
      Number(c.payload.chat_id) === ADMIN &&
      c.at >= helloAt &&
      /^Send me one or more links/.test(String(c.payload.text)),
    60_000,
    'the answer to /start',
  );
  // The completion message refused before the restart: retried by Temporal, sent by the new worker, once.
  await telegram.waitForCall(replyTo(ADMIN, asked.message.message_id, /Downloaded/), 90_000, 'the completion message');
  await new Promise((r) => setTimeout(r, 1_000));
  expect(telegram.calls.filter(replyTo(ADMIN, asked.message.message_id, /Downloaded/))).toHaveLength(1);
  expect(telegram.refused.length).toBe(refusedBefore); // nothing uses the old token any more

  await Promise.all([stop(newBot), stop(newWorker)]);
  // What journalctl would show: the old worker names the refusal; the new processes have no Unauthorized lines.
  const text = (p: (typeof processes)[number]) => p.output.join('');
  expect(text(worker)).toMatch(/401 Unauthorized/);
  for (const p of [newBot, newWorker])
    expect({ process: p.name, unauthorized: /Unauthorized/.test(text(p)) }).toEqual({ process: p.name, unauthorized: false });
  // Neither token reaches a log line.
  for (const p of processes)
    for (const token of [OLD_TOKEN, NEW_TOKEN])
      expect({ process: p.name, leaks: text(p).includes(token) || text(p).includes(token.split(':')[1]!) }).toEqual({
        process: p.name,
        leaks: false,
      });
}, 180_000);
