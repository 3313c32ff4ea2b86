import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadWorkflowId } from '../../domain/downloads/definitions';
import { replyTo, sendText } from '../support/bot-messages';
import { runOps } from '../../ops/main';
import { spawnEntryPoint } from '../support/entry-points';
import { eventuallyAsync } from '../support/eventually';
import { ADMIN_ID, BOT_TOKEN, startStack, type Stack } from '../support/stack';

/**
 * `npm run ops` against the whole product: the real CLI process talks to the
 * stack's Temporal server and database while the real worker downloads.
 * Queue without Telegram and wait; list failures; inspect one; replay it (the
 * person who asked on Telegram is told, then told how it ended); a dry run
 * changes nothing; pause, resume, cancel and status; exit codes and --json.
 */

let stack: Stack;
let cwd: string;

beforeAll(async () => {
  stack = await startStack();
  cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-ops-'));
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  fs.rmSync(cwd, { recursive: true, force: true });
});

function env(overrides: Record<string, string> = {}): Record<string, string> {
  const c = stack.config;
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_ROOT: c.TELEGRAM_API_ROOT,
    DATABASE_URL: c.DATABASE_URL,
    TEMPORAL_ADDRESS: c.TEMPORAL_ADDRESS,
    TASK_QUEUE: c.TASK_QUEUE,
    DOWNLOAD_TASK_QUEUE: c.DOWNLOAD_TASK_QUEUE,
    MAX_RETRIES: String(c.MAX_RETRIES),
    RETRY_BASE_SECONDS: String(c.RETRY_BASE_SECONDS),
    DOWNLOAD_DIR: c.DOWNLOAD_DIR,
    ALLOW_PRIVATE_URLS: 'true',
    TEMPORAL_UI_URL: 'http://ui.example.test:8233',
    ...overrides,
  };
}

/** Runs one ops command in this process (as the entry point does), with the stack's settings. */
async function ops(
  args: string[],
  overrides: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runOps(args, { env: env(overrides), stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** `npm run ops -- <args>` as its own process: the entry point itself. */
function opsProcess(
  args: string[],
  overrides: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawnEntryPoint('ops', { cwd, env: env(overrides), args, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const json = <T>(r: { stdout: string }) => JSON.parse(r.stdout) as T;

test('the entry point: help lists every command; a command runs and exits with its code', async () => {
  const help = await opsProcess(['--help']);
  expect(help.code).toBe(0);
  for (const name of ['status', 'failed', 'inspect', 'replay', 'pause', 'resume', 'cancel', 'download'])
    expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  expect(await opsProcess(['inspect', 'ffffffff'])).toMatchObject({ code: 3, stderr: expect.stringContaining('inspect: ') });
}, 60_000);

test('help, unknown commands and bad options: usage and exit 2', async () => {
  const help = await ops(['--help']);
  expect(help.code).toBe(0);
  for (const name of ['status', 'failed', 'inspect', 'replay', 'pause', 'resume', 'cancel', 'download'])
    expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  expect(await ops(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
  expect(await ops(['failed', '--since', 'yesterday'])).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--since takes a duration'),
  });
  expect(await ops(['download', 'http://127.0.0.1:9/a.mp4', '--wait', '--timeout', 'soon'])).toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--timeout takes a duration'),
  });
  expect(await ops(['failed', '--colour'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--colour'/) });
  expect(await ops(['inspect'])).toMatchObject({ code: 2, stderr: expect.stringContaining('usage: npm run ops -- inspect <id>') });
  expect((await ops(['replay', '--help'])).stdout).toContain('--dry-run');
}, 60_000);

test('download --wait queues a link without Telegram through the same workflow and prints the file; a bad link is refused with exit 1', async () => {
  const url = stack.media.route('/ops/clip.mp4');
  const done = await ops(['download', url, '--wait']);
  expect(done).toMatchObject({ code: 0 });
  const savedAs = /Saved as: (\S+)/.exec(done.stdout)![1]!;
  expect(fs.statSync(path.join(stack.config.DOWNLOAD_DIR, savedAs)).size).toBe(stack.media.clipSize);
  // Nobody on Telegram asked: nobody there is told.
  expect(stack.telegram.callsTo('sendMessage').filter((c) => String(c.payload.text).includes('/ops/clip.mp4'))).toEqual([]);

  // Sent again: answered from disk.
  expect((await ops(['download', url])).stdout).toMatch(/Already downloaded/);
  const bad = await ops(['download', 'ftp://example.com/x.mp4']);
  expect(bad.code).toBe(1);
  expect(bad.stdout).toMatch(/Not accepted/);
}, 120_000);

test('failed lists a failure; inspect shows its attempts; replay --dry-run changes nothing; replay runs it again and tells who asked', async () => {
  const route = '/ops/flaky.mp4';
  const url = stack.media.route(route, { status: 404 });
  const asked = sendText(stack.telegram, url, ADMIN_ID);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, asked, /Download failed/), 60_000, 'the failure');
  await stack.journal.flush();

  const failed = await ops(['failed', '--since', '1h', '--json']);
  expect(failed.code).toBe(0);
  const rows = json<Array<{ shortId: string; url: string; errorKind: string; attempts: number; downloader: string; ui: string }>>(failed);
  const row = rows.find((r) => r.url === url)!;
  expect(row).toMatchObject({ errorKind: 'NotFound', attempts: 1, downloader: 'generic' });
  expect(row.ui).toMatch(/^http:\/\/ui\.example\.test:8233\/namespaces\/default\/workflows\/download-[0-9a-f]{64}$/);
  expect(json<unknown[]>(await ops(['failed', '--since', '1h', '--error-kind', 'Network', '--json']))).toEqual([]);
  expect((await ops(['failed', '--since', '1h'])).stdout).toContain(`${row.shortId}  NotFound  1 attempt(s)`);

  const inspected = json<{ state: string; attempts: Array<{ errorKind: string }>; correlationId: string; logs: { json: string } }>(
    await ops(['inspect', row.shortId, '--json']),
  );
  expect(inspected).toMatchObject({ state: 'failed', attempts: [{ errorKind: 'NotFound' }], correlationId: expect.any(String) });
  expect(inspected.logs.json).toContain(inspected.correlationId);
  expect(await ops(['inspect', 'ffffffff'])).toMatchObject({ code: 3 });

  const { contentKey } = await stack.database.db.download.findFirstOrThrow({ where: { url } });
  const handle = stack.client.workflow.getHandle(downloadWorkflowId(contentKey));
  const runsBefore = (await handle.describe()).runId;
  // An operator had asked for it through this CLI too: told by the CLI, never on Telegram.
  await stack.database.db.downloadRequest.create({
    data: { contentKey, chatId: 0n, userId: 0n, messageId: 0, correlationId: 'ops-earlier' },
  });
  const dry = await ops(['replay', row.shortId, '--dry-run']);
  expect(dry).toMatchObject({ code: 0, stdout: expect.stringContaining(`${row.shortId}: would replay`) });
  expect(dry.stdout).toContain('1 subscriber(s) would be told');
  expect((await handle.describe()).runId).toBe(runsBefore);

  stack.media.route(route); // the link works now
  const replayed = await ops(['replay', row.shortId]);
  expect(replayed).toMatchObject({ code: 0, stdout: expect.stringContaining(`${row.shortId}: replayed; 1 subscriber(s) told`) });
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, asked, /being tried again/), 10_000, 'the replay notice');
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, asked, /Downloaded/), 60_000, 'the completion after the replay');
  await handle.result(); // the message comes just before the new run closes
  // Not failed any more: nothing to replay.
  expect(await ops(['replay', row.shortId])).toMatchObject({ code: 1, stderr: expect.stringMatching(/only a failed download is retried/) });
}, 150_000);

test('pause, status, resume and cancel through the downloads client; --json for scripts', async () => {
  const url = stack.media.route('/ops/slow.mp4', { bytesPerSecond: 4_000 });
  const queued = json<{ queued: Array<{ shortId: string }> }>(await ops(['download', url, '--json']));
  const id = queued.queued[0]!.shortId;
  const stateOf = async () => {
    const view = await stack.downloads.describe(id);
    return view.ok ? view.state : null;
  };
  await eventuallyAsync(async () => (await stateOf()) === 'downloading', 30_000, 'the download to run');

  expect(await ops(['pause'])).toMatchObject({ code: 0 });
  expect(json<{ paused: boolean; pausedBy: string }>(await ops(['status', '--json']))).toMatchObject({
    paused: true,
    pausedBy: expect.stringMatching(/operator .* \(ops CLI\)/),
  });
  expect((await ops(['status'])).stdout).toMatch(/Everything is PAUSED/);
  expect(await ops(['resume'])).toMatchObject({ code: 0 });
  expect(json<{ paused: boolean }>(await ops(['status', '--json']))).toMatchObject({ paused: false });

  const cancelled = await ops(['cancel', id]);
  expect(cancelled).toMatchObject({ code: 0, stdout: expect.stringContaining(`${id}:`) });
  await eventuallyAsync(async () => (await stateOf()) === 'cancelled', 30_000, 'the cancel');
  expect(await ops(['cancel', id])).toMatchObject({ code: 1 });
}, 120_000);

test('a database or Temporal that does not answer is exit 4, with a message that names no secret', async () => {
  const noDb = await ops(['failed'], { DATABASE_URL: 'postgresql://postgres:ops-secret-pw@127.0.0.1:1/nothing' });
  expect(noDb.code).toBe(4);
  expect(noDb.stderr).toMatch(/did not answer/);
  expect(noDb.stderr + noDb.stdout).not.toContain('ops-secret-pw');
  // In a process of its own: calls to a server that is not there retry on timers of their own.
  const noTemporal = await opsProcess(['status'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
  expect(noTemporal.code).toBe(4);
}, 60_000);
