import { keyOf } from '../support/bot-messages';
import { askBot } from '../support/bot-messages';
import type { RecordedCall } from '../support/fake-bot-api';
import { ADMIN_ID, startStack, type Stack } from '../support/stack';
import { callbackQuery, textMessage } from '../support/telegram-updates';

/**
 * Live status messages: the bot's answer to a request for one download is
 * edited as the download goes (a bar, size, speed, ETA; paused; the result),
 * at most once every 3 s per chat, with pause, resume and cancel buttons for
 * admins. Through the real bot, worker, Temporal and yt-dlp.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const USER = 8001;

/** Sends a link and returns the ID of the bot's answer (the status message). */
async function request(userId: number, text: string): Promise<number> {
  return (await askBot(stack.telegram, userId, text)).sentMessageId!;
}

const editsOf = (chatId: number, messageId: number) =>
  stack.telegram.calls.filter(
    (c) => c.method === 'editMessageText' && Number(c.payload.chat_id) === chatId && c.payload.message_id === messageId,
  );

const buttonsOf = (c: RecordedCall) =>
  (
    (c.payload.reply_markup as { inline_keyboard?: Array<Array<{ text: string; callback_data: string }>> } | undefined)?.inline_keyboard ??
    []
  ).flat();

async function editMatching(chatId: number, messageId: number, pattern: RegExp, what: string): Promise<RecordedCall> {
  return stack.telegram.waitForCall(
    (c) =>
      c.method === 'editMessageText' &&
      Number(c.payload.chat_id) === chatId &&
      c.payload.message_id === messageId &&
      pattern.test(String(c.payload.text)),
    60_000,
    what,
  );
}

test('one link: its answer shows the progress as it goes, at most one edit every 3 s, and ends stating the result', async () => {
  const url = stack.media.route('/videos/watched.mp4', { bytesPerSecond: 6_000 });
  const status = await request(ADMIN_ID, url);
  // The first edit may come before yt-dlp reports bytes (no bar yet, on a busy machine): wait for one with the bar.
  const running = await editMatching(ADMIN_ID, status, /^⬇️ Downloading \[[0-9a-f]{8}\][\s\S]*\n[▓░]{10} \d+%/, 'a progress edit');
  expect(String(running.payload.text)).toMatch(/\n[▓░]{10} \d+%\n.*KB of \d+(\.\d)? KB · .*\/s · ETA \d+:\d\d/);
  expect(buttonsOf(running).map((b) => b.text)).toEqual(['⏸ Pause', '✖ Cancel']);
  const done = await editMatching(ADMIN_ID, status, /^✅ Downloaded \[/, 'the final edit');
  expect(buttonsOf(done)).toEqual([]);
  // The completion message still comes, as a reply of its own.
  expect(stack.telegram.sentTo(ADMIN_ID).some((t) => t.startsWith('✅ Downloaded') && t.includes('Saved as: watched-'))).toBe(true);
  // Edits in one chat are at least 3 s apart.
  const edits = stack.telegram.calls.filter((c) => c.method === 'editMessageText' && Number(c.payload.chat_id) === ADMIN_ID);
  for (let i = 1; i < edits.length; i++) expect(edits[i]!.at - edits[i - 1]!.at).toBeGreaterThanOrEqual(2_900);
  expect(edits.length).toBeGreaterThanOrEqual(2);
  // Once ended, the message is left alone.
  const count = editsOf(ADMIN_ID, status).length;
  await new Promise((r) => setTimeout(r, 4_000));
  expect(editsOf(ADMIN_ID, status).length).toBe(count);
});

test("an admin's buttons pause and resume the download; the message says paused, then goes on to the end", async () => {
  const url = stack.media.route('/videos/buttons.mp4', { bytesPerSecond: 6_000 });
  const status = await request(ADMIN_ID, url);
  await editMatching(ADMIN_ID, status, /^⬇️ Downloading/, 'a progress edit');
  const id = keyOf(url).slice(0, 8);
  stack.telegram.pushUpdate(callbackQuery({ userId: ADMIN_ID, data: `dl:pause:${id}`, messageId: status }));
  const answered = await stack.telegram.waitForCall(
    (c) => c.method === 'answerCallbackQuery' && /^⏸ Paused/.test(String(c.payload.text)),
    30_000,
    'the button answered',
  );
  expect(String(answered.payload.text)).toContain('partial file is kept');
  const paused = await editMatching(ADMIN_ID, status, /^⏸ Paused \[/, 'the paused edit');
  expect(buttonsOf(paused).map((b) => b.callback_data)).toEqual([`dl:resume:${id}`, `dl:cancel:${id}`]);
  stack.telegram.pushUpdate(callbackQuery({ userId: ADMIN_ID, data: `dl:resume:${id}`, messageId: status }));
  await editMatching(ADMIN_ID, status, /^✅ Downloaded \[/, 'the final edit after resuming');
});

test("a user's status message has no buttons, and the buttons refuse anyone below admin; several links keep a plain answer", async () => {
  await new Promise<void>((resolve, reject) => {
    stack.telegram.pushUpdate(textMessage({ userId: ADMIN_ID, text: `/grant ${USER} user` }));
    stack.telegram.waitForCall((c) => /is now a user/.test(String(c.payload.text)), 30_000, 'the grant').then(() => resolve(), reject);
  });
  const url = stack.media.route('/videos/users.mp4', { bytesPerSecond: 10_000 });
  const status = await request(USER, url);
  const running = await editMatching(USER, status, /^(⬇️ Downloading|⏳ Queued|✅ Downloaded)/, 'an edit');
  expect(buttonsOf(running)).toEqual([]);
  stack.telegram.pushUpdate(callbackQuery({ userId: USER, data: `dl:cancel:${keyOf(url).slice(0, 8)}` }));
  const refused = await stack.telegram.waitForCall(
    (c) => c.method === 'answerCallbackQuery' && /is for admins only/.test(String(c.payload.text)),
    30_000,
    'the refusal',
  );
  expect(refused.payload.show_alert).toBe(true);
  await editMatching(USER, status, /^✅ Downloaded/, 'the final edit');

  const two = [stack.media.route('/videos/pair-a.mp4'), stack.media.route('/videos/pair-b.mp4')];
  const plain = await request(ADMIN_ID, two.join(' '));
  await stack.telegram.waitForCall((c) => String(c.payload.text).includes('Saved as: pair-b-'), 60_000, 'the second completion');
  await new Promise((r) => setTimeout(r, 3_500));
  expect(editsOf(ADMIN_ID, plain)).toEqual([]);
});
