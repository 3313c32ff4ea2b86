import fs from 'node:fs';
import path from 'node:path';
import { keyOf, replyTarget } from '../support/bot-messages';
import { eventuallyAsync } from '../support/eventually';
import type { RecordedCall } from '../support/fake-bot-api';
import { ADMIN_ID, OTHER_ADMIN_ID, startStack, type Stack } from '../support/stack';
import { textMessage } from '../support/telegram-updates';

/**
 * Files sent back: a finished download within TELEGRAM_UPLOAD_LIMIT_MB arrives
 * in the chat as the completion message itself, uploaded once; its file_id is
 * kept by content key, so the next request for the same content is answered at
 * once with no download and no upload. Larger files are answered with their path.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ TELEGRAM_UPLOAD_LIMIT_MB: '1', DIRECT_SOURCE: 'true' });
});
afterAll(async () => {
  await stack?.stop();
});

function send(userId: number, text: string): number {
  const update = textMessage({ userId, text });
  stack.telegram.pushUpdate(update);
  return update.message.message_id;
}

const fileReplyTo =
  (chatId: number, messageId: number, method = 'sendVideo') =>
  (c: RecordedCall) =>
    c.method === method && Number(c.payload.chat_id) === chatId && replyTarget(c) === messageId;

/** An upload names its multipart file part; a file sent again by file_id does not. */
const isUpload = (c: RecordedCall) => String(c.payload.video).startsWith('attach://');

test('a file within the limit is sent back once; the next request for it is answered with its file_id: no download, no upload', async () => {
  const url = stack.media.route('/videos/sent-back.mp4');
  const asked = send(ADMIN_ID, url);
  const first = await stack.telegram.waitForCall(fileReplyTo(ADMIN_ID, asked), 60_000, 'the file');
  expect(isUpload(first)).toBe(true);
  expect(String(first.payload.caption)).toMatch(
    /^✅ Downloaded \[[0-9a-f]{8}\]\nsent-back\nSize: 44 KB\nSaved as: sent-back-[0-9a-f]{12}\.mp4\n/,
  );
  const upload = stack.telegram.uploads.find((u) => u.chatId === ADMIN_ID)!;
  expect(upload).toBeDefined();
  // The worker records the file_id once Telegram has answered the upload.
  await eventuallyAsync(
    async () =>
      (await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: keyOf(url) } })).telegramFileId === upload.fileId,
    20_000,
    'the file_id to be recorded',
  );
  const record = await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: keyOf(url) } });
  expect(record).toMatchObject({ telegramFileId: upload.fileId, telegramFileKind: 'video' });
  expect(stack.telegram.sentTo(ADMIN_ID).some((t) => t.startsWith('✅ Downloaded'))).toBe(false);

  const uploadsBefore = stack.telegram.uploads.length;
  const again = send(OTHER_ADMIN_ID, url);
  const resent = await stack.telegram.waitForCall(fileReplyTo(OTHER_ADMIN_ID, again), 30_000, 'the file by its file_id');
  expect(resent.payload.video).toBe(upload.fileId);
  expect(String(resent.payload.caption)).toMatch(/^✅ Downloaded/);
  expect(stack.telegram.sentTo(OTHER_ADMIN_ID).at(-1)).toMatch(/^Already downloaded:/);
  expect(stack.media.count('/videos/sent-back.mp4')).toBe(1);
  expect(stack.telegram.uploads.length).toBe(uploadsBefore);
});

test('two people waiting for one download get the file from one upload', async () => {
  const url = stack.media.route('/videos/shared.mp4', { bytesPerSecond: 20_000 });
  const mine = send(ADMIN_ID, url);
  const theirs = send(OTHER_ADMIN_ID, url);
  const [a, b] = await Promise.all([
    stack.telegram.waitForCall(fileReplyTo(ADMIN_ID, mine), 60_000, 'my file'),
    stack.telegram.waitForCall(fileReplyTo(OTHER_ADMIN_ID, theirs), 60_000, 'their file'),
  ]);
  // One of the two uploaded the file; the other was sent the file_id that upload got.
  const [uploader, other] = isUpload(a) ? [a, b] : [b, a];
  expect(isUpload(uploader)).toBe(true);
  expect(isUpload(other)).toBe(false);
  const upload = stack.telegram.uploads.filter((u) => u.chatId === Number(uploader.payload.chat_id)).at(-1)!;
  expect(other.payload.video).toBe(upload.fileId);
});

test('a file over the limit is answered with its path, not sent', async () => {
  const big = path.join(stack.media.dir, 'big.mp4');
  fs.writeFileSync(big, Buffer.alloc(1.5 * 1024 * 1024, 7));
  const url = stack.media.route('/videos/too-big.mp4', { file: big });
  const asked = send(ADMIN_ID, url);
  const done = await stack.telegram.waitForCall(
    (c) =>
      c.method === 'sendMessage' &&
      (c.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === asked &&
      /Downloaded/.test(String(c.payload.text)),
    60_000,
    'the completion message',
  );
  expect(String(done.payload.text)).toMatch(/Size: 1\.5 MB\nSaved as: too-big-[0-9a-f]{12}\.mp4\n/);
  expect(String(done.payload.text)).toContain('Too large to send here (the limit is 1.0 MB); it is on the server at the path above.');
  expect(stack.telegram.calls.some(fileReplyTo(ADMIN_ID, asked))).toBe(false);
});
