import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { RecordedCall } from '../support/fake-bot-api';
import { historyText } from '../support/history-text';
import { startProcessStack, type ProcessStack, type RunningProcess } from '../support/process-stack';
import { textMessage } from '../support/telegram-updates';

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

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ name: 'secrets', adminIds: String(ADMIN), token: TOKEN, media: true });
});

afterAll(() => stack?.stop());

/** A yt-dlp (or ffmpeg) on PATH that records the environment it was given, then runs the real one. */
function recordingBin(): string {
  const bin = path.join(stack.dir, 'bin');
  fs.mkdirSync(bin);
  for (const name of ['yt-dlp', 'ffmpeg']) {
    const real = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(bin, name), `#!/bin/sh\nenv >> '${path.join(stack.dir, `${name}.env`)}'\nexec '${real}' "$@"\n`, {
      mode: 0o755,
    });
  }
  return bin;
}

function withPassword(url: string, password: string, user = ''): string {
  const parsed = new URL(url);
  parsed.username = user;
  parsed.password = password;
  return parsed.toString().replace(/\/$/, '');
}

function replyTo(messageId: number, pattern: RegExp) {
  return (call: RecordedCall) =>
    call.method === 'sendMessage' &&
    (call.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId &&
    pattern.test(String(call.payload.text));
}

test('no secret reaches a log line, a Bot API call or the downloader, through a whole run of the real processes', async () => {
  const bin = recordingBin();
  const { port: mediaPort } = new URL(stack.media.route('/secrets/none'));
  const env = stack.env({
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    TELEGRAM_API_ROOT: withPassword(stack.telegram.apiRoot, TELEGRAM_PASSWORD, 'tg-user'),
    TELEGRAM_UPLOAD_LIMIT_MB: '0', // completion messages as text
    // Trust authentication ignores these passwords, so they can be set without a server that checks them.
    DATABASE_URL: withPassword(stack.database.url, DATABASE_PASSWORD, 'postgres'),
    REDIS_URL: withPassword(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', REDIS_PASSWORD),
    MAX_RETRIES: '1',
    RETRY_BASE_SECONDS: '0.2',
    ALLOW_PRIVATE_URLS: 'false',
    ALLOWED_PRIVATE_HOSTS: '127.0.0.1',
    LOG_LEVEL: 'debug',
  });
  // Each also writes its log to a file (LOG_FILE), which must be as clean as the console.
  const logDir = (name: string) => path.join(stack.dir, 'logs', name);
  const processes: RunningProcess[] = (['worker', 'bot'] as const).map((name) =>
    stack.start(name, { ...env, LOG_FILE: path.join(logDir(name), `${name}.log`) }),
  );

  // A download that works.
  const good = stack.media.route('/secrets/clip.mp4');
  const first = textMessage({ userId: ADMIN, text: good });
  stack.telegram.pushUpdate(first);
  await stack.telegram.waitForCall(replyTo(first.message.message_id, /Downloaded/), 90_000, 'the completion message');

  // A download that fails, and links that are refused as private, disguised or not.
  const missing = stack.media.route('/secrets/missing.mp4', { status: 404 });
  const second = textMessage({
    userId: ADMIN,
    text: `${missing} http://0x7f000002:${mediaPort}/secrets/clip.mp4 http://[::ffff:169.254.169.254]/latest/meta-data/ http://localhost:7233/`,
  });
  stack.telegram.pushUpdate(second);
  const intake = await stack.telegram.waitForCall(replyTo(second.message.message_id, /Not accepted/), 30_000, 'the intake reply');
  const text = String(intake.payload.text);
  expect(text).toContain('http://127.0.0.2:');
  expect(text).toContain('a loopback address (this server itself) (127.0.0.2)');
  expect(text).toContain('a cloud metadata service (169.254.169.254)');
  expect(text).toContain('an internal host name (localhost)');
  expect(text).toMatch(/Queued 1 download/);
  await stack.telegram.waitForCall(replyTo(second.message.message_id, /Download failed/), 60_000, 'the failure message');
  expect(stack.media.count('/secrets/clip.mp4')).toBe(1); // only the first message's file (fetched directly); the disguised link was never fetched

  // An internal error in the bot: Telegram refuses its reply (a 400 no retry can fix).
  stack.telegram.failNext = 1;
  const third = textMessage({ userId: ADMIN, text: '/start' });
  stack.telegram.pushUpdate(third);
  await stack.telegram.waitForCall(
    (c) => c.method === 'sendMessage' && /Something went wrong/.test(String(c.payload.text)),
    30_000,
    'the apology',
  );

  await Promise.all(processes.map((p) => p.stop('SIGINT')));

  const logs = processes.flatMap((p) => {
    const files = fs.readdirSync(logDir(p.name)).filter((f) => /^\w+\.\d+\.log$/.test(f));
    const fileText = files.map((f) => fs.readFileSync(path.join(logDir(p.name), f), 'utf8')).join('');
    return [
      { name: p.name, text: p.output() },
      { name: `${p.name} (LOG_FILE)`, text: fileText },
    ];
  });
  for (const { name, text: output } of logs) {
    expect(output).toContain(name.startsWith('bot') ? '"msg":"bot started"' : '"msg":"worker started"');
    for (const secret of LEAK_FORMS)
      expect({ process: name, leaks: output.includes(secret) ? secret : null }).toEqual({ process: name, leaks: null });
  }
  // The worker names the yt-dlp it runs, and says when it is old.
  const worker = logs.find((l) => l.name === 'worker')!.text;
  expect(worker).toMatch(/"version":"\d{4}\.\d{2}\.\d{2}[^"]*".*"msg":"yt-dlp found"/);
  // The bot says where it polls without the password.
  expect(logs.find((l) => l.name === 'bot')!.text).toContain('http://tg-user:[REDACTED]@127.0.0.1');

  const calls = JSON.stringify(stack.telegram.calls);
  for (const secret of LEAK_FORMS) expect({ botApiCalls: calls.includes(secret) ? secret : null }).toEqual({ botApiCalls: null });

  // Workflow histories, which the Web UI shows: inputs, results, failures, search attributes, memos.
  const client = new Client({ connection: await Connection.connect({ address: stack.temporal.address }) });
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
    const file = path.join(stack.dir, `${tool}.env`);
    if (tool === 'ffmpeg' && !fs.existsSync(file)) continue; // a plain mp4 download needs no ffmpeg
    const seen = fs.readFileSync(file, 'utf8');
    expect(seen.length).toBeGreaterThan(0);
    for (const secret of LEAK_FORMS) expect({ tool, leaks: seen.includes(secret) ? secret : null }).toEqual({ tool, leaks: null });
    expect(seen).not.toMatch(/DATABASE_URL|REDIS_URL|TELEGRAM_/);
  }
}, 240_000);

test('a config error with the token pasted into the wrong variables never echoes it', async () => {
  const bot = stack.start('bot', {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TELEGRAM_BOT_TOKEN: TOKEN,
    ADMIN_IDS: `1,${TOKEN}`,
    LOG_LEVEL: TOKEN,
    ALLOWED_PRIVATE_HOSTS: TOKEN,
  });
  expect(await bot.exited).toBe(1);
  expect(bot.output()).toMatch(/ADMIN_IDS[\s\S]*ALLOWED_PRIVATE_HOSTS[\s\S]*LOG_LEVEL/);
  for (const secret of LEAK_FORMS) expect(bot.output().includes(secret) ? secret : null).toBeNull();
});
