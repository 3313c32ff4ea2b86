import fs from 'node:fs';
import path from 'node:path';
import { INCOMPLETE_DIR } from '../../activities/ytdlp';
import { keyOf, replyTo, sendText } from '../support/bot-messages';
import { eventually, eventuallyAsync } from '../support/eventually';
import { ADMIN_ID, OTHER_ADMIN_ID, startStack, type Stack } from '../support/stack';
import { callbackQuery } from '../support/telegram-updates';

/**
 * Pause, resume and cancel, as admins use them: commands to the real bot, the
 * real worker and yt-dlp, on a real Temporal dev server. Downloads are slowed by
 * the media server so there is something to pause.
 */

let stack: Stack;

beforeAll(async () => {
  // One download at a time, so others queue behind it; heartbeats every second.
  stack = await startStack({ MAX_CONCURRENT: '1', HEARTBEAT_TIMEOUT_SECONDS: '10' });
});

afterAll(async () => {
  await stack?.stop();
});

const SLOW = 3_000; // bytes per second: the 2-second clip (about 45 KB) would take some 15 seconds

function send(text: string, userId = ADMIN_ID): number {
  return sendText(stack.telegram, text, userId);
}

/** Sends a command and returns the bot's answer to it (the first message to that chat after it that is not a notification). */
async function command(text: string, userId = ADMIN_ID): Promise<string> {
  const before = stack.telegram.calls.length;
  send(text, userId);
  const answer = await stack.telegram.waitForCall(
    (c) =>
      stack.telegram.calls.indexOf(c) >= before &&
      c.method === 'sendMessage' &&
      Number(c.payload.chat_id) === userId &&
      // Not a download's own notification, which can arrive at any moment.
      !/^(✅ Downloaded|❌ Download failed|🚫 Download cancelled)/.test(String(c.payload.text)),
    30_000,
    `the answer to ${text}`,
  );
  return String(answer.payload.text);
}

/** Sends a link and returns its short ID, from the intake reply. */
async function queue(url: string, userId = ADMIN_ID): Promise<{ messageId: number; shortId: string; reply: string }> {
  const messageId = send(url, userId);
  const reply = String(
    (await stack.telegram.waitForCall(replyTo(userId, messageId, /Queued|Already downloading/), 30_000, 'the intake reply')).payload.text,
  );
  const shortId = /\[([0-9a-f]{8})\]/.exec(reply)?.[1];
  if (!shortId) throw new Error(`no short ID in ${reply}`);
  return { messageId, shortId, reply };
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

function partialFiles(contentKey: string): string[] {
  const dir = path.join(stack.config.DOWNLOAD_DIR, INCOMPLETE_DIR);
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.includes(contentKey.slice(0, 12))) : [];
}

function partialBytes(contentKey: string): number {
  return partialFiles(contentKey).reduce((sum, f) => sum + fs.statSync(path.join(stack.config.DOWNLOAD_DIR, INCOMPLETE_DIR, f)).size, 0);
}

async function stateOf(shortId: string): Promise<string> {
  const view = await stack.downloads.describe(shortId);
  if (!view.ok) throw new Error(view.message);
  return view.state;
}

test('/pause stops a running download within seconds keeping its partial file; /resume continues it from there', async () => {
  const route = '/control/paused-midway.mp4';
  const url = stack.media.route(route, { bytesPerSecond: SLOW });
  const key = keyOf(url);
  const { messageId, shortId } = await queue(url);
  await eventually(() => partialBytes(key) > 6_000, 30_000, 'part of the file');

  expect(await command('/pause')).toMatch(/^⏸ Paused: everything is being paused/);
  await eventually(() => processesMentioning(route).length === 0, 5_000, 'yt-dlp to stop within 5 seconds');
  const kept = partialBytes(key);
  expect(kept).toBeGreaterThan(6_000);
  // The workflow records the pause once its step has ended (a moment after yt-dlp, longer on a busy machine).
  await eventuallyAsync(async () => (await stateOf(shortId)) === 'paused', 10_000, 'the download to show as paused');
  // Paused means paused: nothing more is fetched.
  const servedWhilePaused = stack.media.bytesServed.get(route)!;
  await new Promise((r) => setTimeout(r, 2_000));
  expect(stack.media.bytesServed.get(route)).toBe(servedWhilePaused);

  // Faster from here, still paced: the media server counts what it sends, and a
  // full-speed answer to yt-dlp's first look at the page would send it all at once.
  stack.media.route(route, { bytesPerSecond: 50_000 });
  expect(await command('/resume')).toMatch(/^▶️ Resumed: everything resumed/);
  const done = await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Downloaded/), 60_000, 'the completion message');
  const savedAs = /Saved as: (.+)/.exec(String(done.payload.text))![1]!;
  expect(fs.readFileSync(path.join(stack.config.DOWNLOAD_DIR, savedAs))).toEqual(fs.readFileSync(stack.media.clipPath));
  // Resumed from the partial file, not started over.
  expect(stack.media.rangeStarts.get(route)?.some((start) => start > 0)).toBe(true);
  expect(stack.media.bytesServed.get(route)!).toBeLessThan(1.5 * stack.media.clipSize);
  // Waiting paused cost no attempt.
  const row = await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: key } });
  expect(row).toMatchObject({ state: 'completed', attempts: 1 });
});

test('with downloads queued, /pause keeps them from starting; a link sent while paused waits too; /resume runs them all', async () => {
  const running = stack.media.route('/control/q-running.mp4', { bytesPerSecond: SLOW });
  const queued = stack.media.route('/control/q-queued.mp4');
  const first = await queue(running);
  await eventually(() => stack.media.count('/control/q-running.mp4') > 0, 30_000, 'the first download to start');
  const second = await queue(queued); // waits for the single download slot

  expect(await command('/pause')).toMatch(/^⏸ Paused/);
  const late = stack.media.route('/control/q-late.mp4');
  const third = await queue(late);
  expect(third.reply).toMatch(/^Queued 1 download \(paused: everything is paused until \/resume\):/);

  await new Promise((r) => setTimeout(r, 3_000));
  expect(stack.media.count('/control/q-queued.mp4')).toBe(0);
  expect(stack.media.count('/control/q-late.mp4')).toBe(0);
  for (const id of [first.shortId, second.shortId, third.shortId]) expect(await stateOf(id)).toBe('paused');

  stack.media.route('/control/q-running.mp4');
  expect(await command('/resume')).toMatch(/^▶️ Resumed/);
  for (const { messageId } of [first, second, third]) {
    await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Downloaded/), 60_000, 'each completion');
  }
});

test('a link sent in the same moment as /pause is never left running, whichever is handled first', async () => {
  const routes = ['/control/race-before.mp4', '/control/race-after.mp4'];
  const [before, after] = routes.map((route) => stack.media.route(route, { bytesPerSecond: SLOW }));
  // Back to back, with no wait: the link just before /pause, and another just after it.
  const first = send(before!);
  send('/pause');
  const second = send(after!);
  const ids = await Promise.all(
    [first, second].map(async (messageId) => {
      const reply = String(
        (await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Queued/), 30_000, 'the intake reply')).payload.text,
      );
      return /\[([0-9a-f]{8})\]/.exec(reply)![1]!;
    }),
  );
  for (const id of ids) await eventuallyAsync(async () => (await stateOf(id)) === 'paused', 30_000, `${id} to be paused`);
  const served = routes.map((route) => stack.media.bytesServed.get(route) ?? 0);
  await new Promise((r) => setTimeout(r, 2_000));
  expect(routes.map((route) => stack.media.bytesServed.get(route) ?? 0)).toEqual(served);
  expect(served.every((bytes) => bytes < stack.media.clipSize)).toBe(true);

  expect(await command('/cancel all')).toMatch(/^Cancel all 2/);
  const asked = stack.telegram.calls.filter((c) => c.method === 'sendMessage' && /^Cancel all 2/.test(String(c.payload.text))).at(-1)!;
  const keyboard = (asked.payload.reply_markup as { inline_keyboard: Array<Array<{ callback_data: string }>> }).inline_keyboard;
  stack.telegram.pushUpdate(callbackQuery({ userId: ADMIN_ID, data: keyboard[0]![0]!.callback_data }));
  await stack.telegram.waitForCall(
    (c) => c.method === 'editMessageText' && /Cancelled 2 downloads/.test(String(c.payload.text)),
    30_000,
    'the cancel',
  );
  expect(await command('/resume')).toMatch(/^▶️ Resumed/);
  await eventuallyAsync(
    async () => (await stack.downloads.globalState()).active.length === 0,
    10_000,
    'every download to leave the control workflow',
  );
});

test('/pause <id> and /resume <id> act on one download only, and commands answer truthfully', async () => {
  const slow = stack.media.route('/control/one-slow.mp4', { bytesPerSecond: SLOW });
  const other = stack.media.route('/control/one-other.mp4');
  const target = await queue(slow);
  await eventually(() => partialBytes(keyOf(slow)) > 5_000, 30_000, 'part of the file');

  expect(await command(`/pause ${target.shortId}`)).toBe(`⏸ Paused [${target.shortId}]: paused; its partial file is kept`);
  expect(await command(`/pause ${target.shortId}`)).toMatch(/^Could not pause: it is already paused \(by User\)/);
  // The slot is free again: another download runs while this one is paused.
  const next = await queue(other);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, next.messageId, /Downloaded/), 60_000, 'the other download');
  expect(await stateOf(target.shortId)).toBe('paused');

  stack.media.route('/control/one-slow.mp4');
  expect(await command(`/resume ${target.shortId.slice(0, 6)}`)).toBe(
    `▶️ Resumed [${target.shortId}]: resumed; it continues from its partial file`,
  );
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, target.messageId, /Downloaded/), 60_000, 'the resumed download');

  // Finished, unknown and malformed IDs get a clear answer.
  expect(await command(`/pause ${target.shortId}`)).toBe('Could not pause: it has already finished');
  expect(await command('/resume ffffff0')).toBe('Could not resume: no download has the ID ffffff0');
  expect(await command('/cancel xyz')).toMatch(/^Could not cancel: "xyz" is not a download ID/);
  expect(await command(`/resume ${next.shortId}`)).toBe('Could not resume: it has already finished');
});

test('/cancel <id> stops a download for good: yt-dlp stops, partial files go, every subscriber is told; sent again, it downloads afresh', async () => {
  const route = '/control/cancelled.mp4';
  const url = stack.media.route(route, { bytesPerSecond: SLOW });
  const key = keyOf(url);
  const first = await queue(url);
  const second = await queue(url, OTHER_ADMIN_ID);
  expect(second.reply).toMatch(/Already downloading/);
  await eventually(() => partialBytes(key) > 5_000, 30_000, 'part of the file');

  expect(await command(`/cancel ${first.shortId}`)).toMatch(new RegExp(`^🚫 Cancelled \\[${first.shortId}\\]: cancelled`));
  await eventually(() => processesMentioning(route).length === 0, 5_000, 'yt-dlp to stop');
  for (const [chat, messageId] of [
    [ADMIN_ID, first.messageId],
    [OTHER_ADMIN_ID, second.messageId],
  ] as const) {
    const told = await stack.telegram.waitForCall(replyTo(chat, messageId, /Download cancelled/), 30_000, 'the cancel notice');
    expect(String(told.payload.text)).toContain('Cancelled by: User');
  }
  await eventually(() => partialFiles(key).length === 0, 10_000, 'the partial files to be removed');
  const row = await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: key } });
  expect(row).toMatchObject({ state: 'cancelled', errorKind: 'Cancelled' });
  expect(await command(`/cancel ${first.shortId}`)).toMatch(/^Could not cancel: it was already cancelled/);

  stack.media.route(route);
  const again = await queue(url);
  expect(again.reply).toMatch(/^Queued 1 download/);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, again.messageId, /Downloaded/), 60_000, 'the fresh download');
  // Afresh: the second run asked for the file from its first byte.
  expect(stack.media.rangeStarts.get(route)?.at(-1) ?? 0).toBe(0);
});

test('/cancel all asks first, then cancels every queued and running download', async () => {
  // Downloads of the tests before (a slow one resumed, say) end first: the question counts everything active.
  await eventuallyAsync(async () => (await stack.downloads.activeCount()) === 0, 90_000, 'the earlier downloads to end');
  const a = await queue(stack.media.route('/control/all-a.mp4', { bytesPerSecond: SLOW }));
  // Slow too: with a free download slot it would otherwise finish before it is counted (seen on a loaded machine).
  const b = await queue(stack.media.route('/control/all-b.mp4', { bytesPerSecond: SLOW }));
  await eventually(() => stack.media.count('/control/all-a.mp4') > 0, 30_000, 'the first to start');
  // The second registers when its workflow first runs (and visibility lists it a moment later): on a loaded machine, wait for both.
  await eventuallyAsync(async () => (await stack.downloads.activeCount()) === 2, 60_000, 'both downloads to be known as active');

  const question = await command('/cancel all');
  expect(question).toBe('Cancel all 2 queued and running downloads? Partial files are removed and everyone who asked is told.');
  const asked = stack.telegram.calls.filter((c) => c.method === 'sendMessage' && String(c.payload.text) === question).at(-1)!;
  const keyboard = (asked.payload.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> })
    .inline_keyboard;
  expect(keyboard[0]!.map((button) => button.text)).toEqual(['Cancel all 2', 'Keep them']);

  stack.telegram.pushUpdate(callbackQuery({ userId: ADMIN_ID, data: keyboard[0]![0]!.callback_data }));
  const done = await stack.telegram.waitForCall(
    (c) => c.method === 'editMessageText' && /Cancelled 2 downloads/.test(String(c.payload.text)),
    30_000,
    'the result',
  );
  expect(String(done.payload.text)).toBe('🚫 Cancelled 2 downloads.');
  for (const { messageId } of [a, b])
    await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Download cancelled/), 30_000, 'each notice');
  for (const { shortId } of [a, b]) expect(await stateOf(shortId)).toBe('cancelled');
  // Each download leaves the control workflow's list as it ends, just after telling its subscribers.
  await eventuallyAsync(
    async () => (await stack.downloads.globalState()).active.length === 0,
    10_000,
    'every download to leave the control workflow',
  );
  expect(await command('/cancel all')).toBe('Nothing to cancel: no download is queued or running.');
});
