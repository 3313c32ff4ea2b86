import fs from 'node:fs';
import { askBot, replyTarget } from '../support/bot-messages';
import path from 'node:path';
import { INCOMPLETE_DIR } from '../../activities/ytdlp';
import { keyOf } from '../support/bot-messages';
import { eventuallyAsync } from '../support/eventually';
import type { RecordedCall } from '../support/fake-bot-api';
import { ADMIN_ID, startStack, type Stack } from '../support/stack';
import { documentMessage } from '../support/telegram-updates';

/**
 * Per-user limits (active downloads, link rate, trial quota) and .txt uploads,
 * through the real bot, Temporal, the worker, PostgreSQL and Redis; and /clear.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    MAX_USER_ACTIVE: '2',
    RATE_LIMIT_LINKS: '4',
    RATE_LIMIT_WINDOW: '3600',
    TRIAL_DAILY_DOWNLOADS: '1',
    TRIAL_MAX_FILE_SIZE: '20KB',
    MAX_URLS_PER_FILE: '3',
    MAX_TXT_BYTES: '1KB',
  });
});
afterAll(async () => {
  await stack?.stop();
});

const OWNER = ADMIN_ID;
const USER = 5001;
const RATER = 5002;
const TRIAL = 5003;

/** Sends a message as `userId` in their private chat; returns the bot's next message there. */
async function ask(userId: number, text: string): Promise<string> {
  return String((await askBot(stack.telegram, userId, text)).payload.text);
}

/**
 * The bot's answer to message `messageId`: a reply to it, or a plain message
 * (not a reply to an earlier message, as completion messages are).
 */
function answerTo(chatId: number, messageId: number, from: number, what: string): Promise<RecordedCall> {
  return stack.telegram.waitForCall(
    (c) => {
      if (stack.telegram.calls.indexOf(c) < from || c.method !== 'sendMessage' || Number(c.payload.chat_id) !== chatId) return false;
      return [undefined, messageId].includes(replyTarget(c));
    },
    30_000,
    what,
  );
}

/** Waits until none of `userId`'s downloads is queued or running (visibility lags a moment). */
async function idle(userId: number): Promise<void> {
  await eventuallyAsync(async () => (await stack.downloads.activeCountFor(userId)) === 0, 60_000, `user ${userId}'s downloads to end`);
}

beforeAll(async () => {
  for (const [id, role] of [
    [USER, 'user'],
    [RATER, 'user'],
    [TRIAL, 'trial'],
  ] as const)
    await ask(OWNER, `/grant ${id} ${role}`);
});

test('a user may have MAX_USER_ACTIVE downloads going; the rest are refused with the count, which follows the workflows as they end', async () => {
  // About 4.5 s each: they stay running while the limit is checked.
  const slow = [0, 1, 2].map((i) => stack.media.route(`/videos/slow-${i}.mp4`, { bytesPerSecond: 10_000 }));
  const first = await ask(USER, slow.join('\n'));
  expect(first).toContain('Queued 2 downloads:');
  expect(first).toContain(
    'Not queued: At most 2 of your downloads may be queued or running at once, and 0 are; send the rest again when one ends.',
  );
  expect(first).toContain(slow[2]);
  await eventuallyAsync(async () => (await stack.downloads.activeCountFor(USER)) === 2, 20_000, 'two active downloads in visibility');
  expect(await ask(USER, slow[2]!)).toContain('At most 2 of your downloads may be queued or running at once, and 2 are');
  expect(stack.media.count('/videos/slow-2.mp4')).toBe(0);

  // A cancelled download no longer counts: the third goes in.
  expect(await ask(OWNER, `/cancel ${keyOf(slow[0]!).slice(0, 8)}`)).toMatch(/^🚫 Cancelled/);
  await eventuallyAsync(async () => (await stack.downloads.activeCountFor(USER)) === 1, 20_000, 'the count to drop after the cancel');
  expect(await ask(USER, slow[2]!)).toMatch(/^Queued 1 download:/);
  // Finished downloads no longer count either.
  await idle(USER);
  // (One link: with the three above this user reaches RATE_LIMIT_LINKS, 4.)
  expect(await ask(USER, stack.media.route('/videos/after.mp4'))).toMatch(/^Queued 1 download:/);
  await idle(USER);
  // Owners have no such limit.
  const many = [5, 6, 7].map((i) => stack.media.route(`/videos/owner-${i}.mp4`));
  expect(await ask(OWNER, many.join(' '))).toMatch(/^Queued 3 downloads:/);
});

test('RATE_LIMIT_LINKS links per window; past it the reply says when to try again; links already on disk are answered regardless', async () => {
  const links = [0, 1, 2, 3, 4].map((i) => stack.media.route(`/videos/rate-${i}.mp4`));
  expect(await ask(RATER, `${links[0]} ${links[1]}`)).toMatch(/^Queued 2 downloads:/);
  await idle(RATER);
  expect(await ask(RATER, `${links[2]} ${links[3]}`)).toMatch(/^Queued 2 downloads:/);
  await idle(RATER);
  const limited = await ask(RATER, `${links[4]} ${links[0]}`);
  expect(limited).toMatch(/Not queued: You can send 4 links per 1 hour; try again in \d+ (minutes?|hour)\./);
  expect(limited).toContain(links[4]);
  // The link already downloaded is answered from disk, limit or not.
  expect(limited).toMatch(/Already downloaded:\n• \[[0-9a-f]{8}\] rate-0/);
  expect(stack.media.count('/videos/rate-4.mp4')).toBe(0);
});

test('a trial user has TRIAL_DAILY_DOWNLOADS a day, each at most TRIAL_MAX_FILE_SIZE', async () => {
  const links = [0, 1].map((i) => stack.media.route(`/videos/trial-${i}.mp4`));
  const answer = await ask(TRIAL, links.join(' '));
  expect(answer).toMatch(/Queued 1 download \(at most 20 KB\):/);
  // The clip is about 44 KB: over the trial's cap, it fails naming the limit.
  await stack.telegram.waitForCall(
    (c) =>
      Number(c.payload.chat_id) === TRIAL &&
      /^❌ Download failed/.test(String(c.payload.text)) &&
      /20(\.0)? KB|20480/.test(String(c.payload.text)),
    60_000,
    "the trial download failing over the trial's size cap",
  );
  expect(answer).toMatch(/Not queued: A trial allows 1 download a day; more tomorrow \(in \d+ (hours?|minutes?)\)\./);
  await idle(TRIAL);
  expect(await ask(TRIAL, links[1]!)).toMatch(/A trial allows 1 download a day/);
  expect(stack.media.count('/videos/trial-1.mp4')).toBe(0);
});

/** Uploads `bytes` as a document named `name` and returns the bot's answer. */
async function upload(name: string, bytes: Buffer, mimeType?: string): Promise<string> {
  const before = stack.telegram.calls.length;
  const file = stack.telegram.addFile(bytes);
  const update = documentMessage({ userId: OWNER, file, fileName: name, ...(mimeType ? { mimeType } : {}) });
  stack.telegram.pushUpdate(update);
  return String((await answerTo(OWNER, update.message.message_id, before, `the answer to ${name}`)).payload.text);
}

test('a .txt file: every link in it is queued (up to MAX_URLS_PER_FILE), with one summary; caps, empty and binary files are answered plainly', async () => {
  const links = [0, 1, 2, 3, 4].map((i) => stack.media.route(`/videos/listed-${i}.mp4`));
  const answer = await upload('links.txt', Buffer.from(`My list\n${links.join('\n')}\nftp://example.com/x\n`));
  expect(answer).toMatch(/^The file has \d+ links; only the first 3 were taken \(MAX_URLS_PER_FILE\)\./);
  expect(answer).toContain('Queued 3 downloads:');
  expect(answer).toContain('past the most links taken from one file');
  for (const link of links.slice(0, 3))
    await eventuallyAsync(
      async () => (await stack.database.db.download.findUnique({ where: { contentKey: keyOf(link) } }))?.state === 'completed',
      60_000,
      `${link} downloaded`,
    );
  expect(stack.media.count('/videos/listed-3.mp4')).toBe(0);

  expect(await upload('empty.txt', Buffer.from('no links here\n'))).toBe('I found no links in empty.txt; nothing was queued.');
  expect(await upload('data.txt', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0xff]))).toBe(
    'That file is not text (it holds binary data); nothing was queued.',
  );
  expect(await upload('photo.jpg', Buffer.from('not read'), 'image/jpeg')).toBe(
    'I only read links from .txt files; send links as text or as a .txt file.',
  );

  // Longer than MAX_TXT_BYTES (1 KB): only the first KB is read, and the reply says so.
  const padding = `${'# a comment line to fill the file up\n'.repeat(40)}`;
  const late = stack.media.route('/videos/too-late.mp4');
  const early = stack.media.route('/videos/early.mp4');
  const long = await upload('long.txt', Buffer.from(`${early}\n${padding}${late}\n`));
  expect(long).toMatch(/^The file is longer than 1\.0 KB; only its first 1\.0 KB was read \(MAX_TXT_BYTES\)\./);
  expect(long).toContain('Queued 1 download:');
  expect(long).toContain('early.mp4');
  expect(long).not.toContain('too-late');
});

test('/clear removes the records of ended downloads and says how many; files and running work stay', async () => {
  const failing = stack.media.route('/videos/gone.mp4', { status: 404 });
  await ask(OWNER, failing);
  await stack.telegram.waitForCall(
    (c) => /Download failed/.test(String(c.payload.text)) && String(c.payload.text).includes('gone.mp4'),
    60_000,
    'the failure',
  );
  // About 45 s at this pace: it is still running when the test ends (and is cancelled then).
  const running = stack.media.route('/videos/still-running.mp4', { bytesPerSecond: 1_000 });
  await ask(OWNER, running);
  await eventuallyAsync(
    async () => (await stack.database.db.download.findUnique({ where: { contentKey: keyOf(running) } }))?.state === 'downloading',
    20_000,
    'the running download to be recorded',
  );
  const db = stack.database.db;
  // Downloads of earlier tests may still be ending: count once only the running one is left.
  await eventuallyAsync(
    async () => (await db.download.count({ where: { state: { in: ['queued', 'waiting_for_disk', 'downloading', 'paused'] } } })) === 1,
    60_000,
    'the earlier downloads to end',
  );
  const completed = await db.download.count({ where: { state: 'completed' } });
  const failed = await db.download.count({ where: { state: 'failed' } });
  const cancelled = await db.download.count({ where: { state: 'cancelled' } });
  // Finished files (not the running download's partial file, in the incomplete folder).
  const files = fs
    .readdirSync(stack.config.DOWNLOAD_DIR, { recursive: true })
    .filter((f) => String(f).endsWith('.mp4') && !String(f).startsWith(INCOMPLETE_DIR));
  expect(files.length).toBeGreaterThan(0);
  expect(completed).toBeGreaterThan(0);

  expect(await ask(OWNER, '/clear')).toBe(
    `🧹 Removed ${completed + failed + cancelled} records (${completed} completed, ${failed} failed, ${cancelled} cancelled). Files on disk and downloads not yet ended are untouched; a cleared link sent again is downloaded again.`,
  );
  expect(await db.download.count({ where: { state: { in: ['completed', 'failed', 'cancelled'] } } })).toBe(0);
  expect(await db.download.findUnique({ where: { contentKey: keyOf(running) } })).not.toBeNull();
  for (const f of files) expect(fs.existsSync(path.join(stack.config.DOWNLOAD_DIR, String(f)))).toBe(true);
  expect(await ask(OWNER, '/clear')).toBe('Nothing to clear: no completed, failed or cancelled download is recorded.');
  await stack.downloads.cancelAll({ id: 'test', name: 'the clear test' });
});
