import fs from 'node:fs';
import path from 'node:path';
import { keyOf as contentKey, replyTo } from '../support/bot-messages';
import { ACTIVE_STATES, downloadWorkflowId } from '../../domain/downloads/definitions';
import { ADMIN_ID, BOT_TOKEN, OTHER_ADMIN_ID, STRANGER_ID, startStack, type Stack } from '../support/stack';
import { callbackQuery, textMessage } from '../support/telegram-updates';
import { eventually, eventuallyAsync } from '../support/eventually';
import type { RecordedCall } from '../support/fake-bot-api';

/**
 * A Telegram message to a file on disk, through the real bot, Temporal, the real
 * worker and yt-dlp, PostgreSQL, and a media server; only Telegram is faked.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
});

afterAll(async () => {
  await stack?.stop();
});

test('an admin sends a link: an immediate reply, then the file on disk and a completion message', async () => {
  const url = stack.media.route('/videos/first.mp4');
  const update = textMessage({ userId: ADMIN_ID, text: `please get ${url} thanks` });
  stack.telegram.pushUpdate(update);
  const messageId = update.message.message_id;

  const ack = await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Queued 1 download/), 30_000, 'the intake reply');
  expect(String(ack.payload.text)).toContain(url);

  const done = await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Downloaded/), 60_000, 'the completion message');
  const text = String(done.payload.text);
  const savedAs = /Saved as: (.+)/.exec(text)?.[1];
  expect(savedAs).toBeDefined();
  expect(path.isAbsolute(savedAs!)).toBe(false);
  const file = path.join(stack.config.DOWNLOAD_DIR, savedAs!);
  expect(fs.statSync(file).size).toBe(stack.media.clipSize);
  expect(path.basename(file)).toMatch(/^first-[0-9a-f]{12}\.mp4$/);
  expect(text).toContain('first');
  expect(text).toMatch(/Size: \d+(\.\d)? KB/);

  const row = await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: contentKey(url) }, include: { requests: true } });
  expect(row).toMatchObject({
    state: 'completed',
    filePath: savedAs,
    attempts: 1,
    platform: 'generic',
    workflowId: downloadWorkflowId(contentKey(url)),
  });
  expect(Number(row.sizeBytes)).toBe(stack.media.clipSize);
  expect(row.requests.map((r) => [Number(r.userId), r.messageId])).toEqual([[ADMIN_ID, messageId]]);

  // One correlation ID runs from the bot's first line to the last notification.
  const entries = stack.logs.entries();
  const queued = entries.find((e) => e.msg === 'download queued' && e.workflowId === row.workflowId);
  const notified = entries.find((e) => e.msg === 'subscriber notified' && e.workflowId === row.workflowId);
  expect(queued?.correlationId).toEqual(expect.any(String));
  expect(notified?.correlationId).toBe(queued?.correlationId);
  const received = entries.find((e) => e.msg === 'update received' && e.correlationId === queued?.correlationId);
  expect(received).toBeDefined();
  // The bot token never reaches a log line.
  expect(stack.logs.lines.join('')).not.toContain(BOT_TOKEN);
});

test('a user who is not an admin is refused and nothing is downloaded', async () => {
  const url = stack.media.route('/videos/private.mp4');
  const update = textMessage({ userId: STRANGER_ID, text: url });
  stack.telegram.pushUpdate(update);

  await stack.telegram.waitForCall((c) => c.method === 'sendMessage' && Number(c.payload.chat_id) === STRANGER_ID, 30_000, 'the refusal');
  expect(stack.telegram.sentTo(STRANGER_ID)).toEqual([
    `Sorry, this bot is private. Your Telegram user ID is ${STRANGER_ID}; an admin can let you in with /grant ${STRANGER_ID} user.`,
  ]);
  expect(await stack.database.db.download.count({ where: { contentKey: contentKey(url) } })).toBe(0);
  await expect(stack.client.workflow.getHandle(downloadWorkflowId(contentKey(url))).describe()).rejects.toThrow(/not found/i);
  expect(stack.media.count('/videos/private.mp4')).toBe(0);
});

test('a link that answers 404 fails after one attempt with a plain-words message', async () => {
  const url = stack.media.route('/videos/gone.mp4', { status: 404 });
  const update = textMessage({ userId: ADMIN_ID, text: url });
  stack.telegram.pushUpdate(update);

  const failed = await stack.telegram.waitForCall(
    replyTo(ADMIN_ID, update.message.message_id, /Download failed/),
    60_000,
    'the failure message',
  );
  expect(String(failed.payload.text)).toContain('Reason: the page or file does not exist (HTTP 404/410)');
  expect(String(failed.payload.text)).not.toMatch(/Traceback|ERROR:|yt-dlp/);
  expect(stack.media.count('/videos/gone.mp4')).toBe(1);
  const row = await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: contentKey(url) } });
  expect(row).toMatchObject({ state: 'failed', errorKind: 'NotFound', attempts: 1 });
});

test('a server that fails twice and then works is downloaded on the third attempt', async () => {
  const url = stack.media.route('/videos/flaky.mp4', { failFirst: 2, failStatus: 503 });
  const update = textMessage({ userId: ADMIN_ID, text: url });
  stack.telegram.pushUpdate(update);

  await stack.telegram.waitForCall(replyTo(ADMIN_ID, update.message.message_id, /Downloaded/), 60_000, 'the completion message');
  const row = await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: contentKey(url) } });
  expect(row).toMatchObject({ state: 'completed', attempts: 3 });
  // Two failed page requests, then the page and the file on the third attempt.
  expect(stack.media.count('/videos/flaky.mp4')).toBe(4);
});

test('the same link from two users is downloaded once and both are told', async () => {
  // Slow enough to be running still when the list has caught up with it.
  const url = stack.media.route('/videos/shared.mp4', { delayMs: 3_000 });
  const other = stack.media.route('/videos/shared-other.mp4');
  const first = textMessage({ userId: ADMIN_ID, text: url });
  // With a new link beside it: the message's links are checked against Temporal's list of running downloads at once.
  const second = textMessage({ userId: OTHER_ADMIN_ID, text: `${url}?utm_source=chat ${other}` });
  stack.telegram.pushUpdate(first);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, first.message.message_id, /Queued 1 download/), 30_000, 'the first intake reply');
  // The list follows the server by a moment (a link sent within it is joined all the same, only worded as queued).
  await eventuallyAsync(async () => (await stack.downloads.runningAmong([contentKey(url)]))?.size === 1, 10_000, 'the list to show it');
  stack.telegram.pushUpdate(second);
  const joined = await stack.telegram.waitForCall(
    replyTo(OTHER_ADMIN_ID, second.message.message_id, /Already downloading/),
    30_000,
    'the second intake reply',
  );
  expect(String(joined.payload.text)).toContain('utm_source=chat');
  expect(String(joined.payload.text)).toMatch(/Queued 1 download/);
  expect(String(joined.payload.text)).toContain('shared-other.mp4');

  await stack.telegram.waitForCall(replyTo(ADMIN_ID, first.message.message_id, /Downloaded/), 60_000, 'the first completion');
  await stack.telegram.waitForCall(replyTo(OTHER_ADMIN_ID, second.message.message_id, /Downloaded/), 60_000, 'the second completion');
  // One yt-dlp run: one page request and one file request.
  expect(stack.media.count('/videos/shared.mp4')).toBe(2);
  const row = await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: contentKey(url) }, include: { requests: true } });
  expect(row.requests.map((r) => Number(r.userId)).sort()).toEqual([ADMIN_ID, OTHER_ADMIN_ID]);
});

test('a link already downloaded and still on disk is answered at once without downloading again', async () => {
  const url = stack.media.route('/videos/again.mp4');
  const first = textMessage({ userId: ADMIN_ID, text: url });
  stack.telegram.pushUpdate(first);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, first.message.message_id, /Downloaded/), 60_000, 'the first completion');
  const requestsBefore = stack.media.count('/videos/again.mp4');

  const second = textMessage({ userId: OTHER_ADMIN_ID, text: url });
  stack.telegram.pushUpdate(second);
  const answer = await stack.telegram.waitForCall(
    replyTo(OTHER_ADMIN_ID, second.message.message_id, /Already downloaded/),
    30_000,
    'the answer',
  );
  expect(String(answer.payload.text)).toMatch(/again-[0-9a-f]{12}\.mp4/);
  expect(stack.media.count('/videos/again.mp4')).toBe(requestsBefore);
});

test('bad links are refused with their reasons and nothing is queued', async () => {
  const update = textMessage({
    userId: ADMIN_ID,
    text: 'ftp://example.com/a.mp4 -https://example.com/b https://user:pw@example.com/c.mp4',
  });
  stack.telegram.pushUpdate(update);
  const reply = await stack.telegram.waitForCall(replyTo(ADMIN_ID, update.message.message_id, /Not accepted/), 30_000, 'the refusal');
  const text = String(reply.payload.text);
  expect(text).toContain('only http:// and https:// links are supported');
  expect(text).toContain('links must not start with "-"');
  expect(text).toContain('links with a user name or password are not accepted');
  expect(text).not.toContain('Queued');
});

test('/start explains how to use the bot', async () => {
  const update = textMessage({ userId: ADMIN_ID, text: '/start' });
  stack.telegram.pushUpdate(update);
  const help = await stack.telegram.waitForCall(
    (c) => c.method === 'sendMessage' && Number(c.payload.chat_id) === ADMIN_ID && /Send me one or more links/.test(String(c.payload.text)),
    30_000,
    'the help text',
  );
  expect(String(help.payload.text)).toContain('/start');
});

test('an unknown command gets a short hint; a command meant for another bot in a group gets nothing', async () => {
  const unknown = textMessage({ userId: ADMIN_ID, text: '/frobnicate' });
  stack.telegram.pushUpdate(unknown);
  const hint = await stack.telegram.waitForCall(
    replyTo(ADMIN_ID, unknown.message.message_id, /I do not know \/frobnicate/),
    30_000,
    'the hint',
  );
  expect(String(hint.payload.text)).toContain('/help');

  const group = -100_777;
  const otherBot = textMessage({ userId: ADMIN_ID, chatId: group, text: '/frobnicate@some_other_bot' });
  const ours = textMessage({ userId: ADMIN_ID, chatId: group, text: '/nonsense@test_downloader_bot' });
  stack.telegram.pushUpdate(otherBot);
  stack.telegram.pushUpdate(ours);
  await stack.telegram.waitForCall(replyTo(group, ours.message.message_id, /I do not know \/nonsense/), 30_000, 'the hint in the group');
  expect(stack.telegram.calls.filter(replyTo(group, otherBot.message.message_id, /./))).toEqual([]);
});

test('/status: the machine, downloads by state from visibility, and the running download with its progress', async () => {
  const url = stack.media.route('/videos/status-slow.mp4', { bytesPerSecond: 4_000 });
  const link = textMessage({ userId: ADMIN_ID, text: url });
  stack.telegram.pushUpdate(link);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, link.message.message_id, /Queued 1 download/), 30_000, 'the intake reply');
  const id = contentKey(url).slice(0, 8);
  // Visibility and the heartbeat catch up within seconds: ask until the running download shows its progress.
  let text = '';
  const deadline = Date.now() + 30_000;
  while (!new RegExp(`\\[${id}\\] .* - \\d+(\\.\\d)?%`).test(text)) {
    if (Date.now() > deadline) throw new Error(`no progress in /status: ${text}`);
    const status = textMessage({ userId: ADMIN_ID, text: '/status' });
    stack.telegram.pushUpdate(status);
    text = String(
      (await stack.telegram.waitForCall(replyTo(ADMIN_ID, status.message.message_id, /📊 Status/), 30_000, '/status')).payload.text,
    );
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(text).toMatch(/CPU \d+% · RAM \d+% · disk \d+% used, .* free/);
  expect(text).toMatch(/Downloads: [1-9]\d* downloading, \d+ queued, \d+ waiting for disk space, \d+ paused/);
  expect(text).toContain('Downloading now:');
  await stack.downloads.cancel(id, { id: 'test', name: 'the status test' });
});

test("/queue: your downloads not yet ended, newest first, ten to a page with buttons; /queue all: everyone's", async () => {
  const urls = Array.from({ length: 11 }, (_, i) => stack.media.route(`/videos/queued-${i}.mp4`, { bytesPerSecond: 1_000 }));
  const links = textMessage({ userId: ADMIN_ID, text: urls.join('\n') });
  stack.telegram.pushUpdate(links);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, links.message.message_id, /Queued 11 downloads/), 30_000, 'the intake reply');
  const ask = async (userId: number, text: string) => {
    const update = textMessage({ userId, text });
    stack.telegram.pushUpdate(update);
    return stack.telegram.waitForCall(replyTo(userId, update.message.message_id, /downloads/), 30_000, text);
  };
  try {
    // Visibility lists new workflows within a moment: wait until it lists all eleven. A page
    // is found by walking from the first, so a download listed only after the first page was
    // shown would push that page's last row onto page 2.
    await eventuallyAsync(
      async () =>
        (await stack.downloads.list({ states: ACTIVE_STATES, requestedBy: String(ADMIN_ID) }, { pageSize: 20 })).downloads.length === 11,
      20_000,
      'visibility to list the eleven downloads',
    );
    let first = await ask(ADMIN_ID, '/queue');
    const deadline = Date.now() + 20_000;
    while (!(first.payload.reply_markup && (String(first.payload.text).match(/• \[/g) ?? []).length === 10)) {
      if (Date.now() > deadline) throw new Error(`the queue never showed ten rows and a button: ${String(first.payload.text)}`);
      await new Promise((r) => setTimeout(r, 500));
      first = await ask(ADMIN_ID, '/queue');
    }
    const text = String(first.payload.text);
    expect(text).toMatch(/^📋 Your downloads not yet ended, newest first:/);
    // The links of one message start at once, so "newest first" orders them only roughly: the two pages hold all eleven.
    const ids = urls.map((u) => `[${contentKey(u).slice(0, 8)}]`);
    expect(text).toMatch(/- (queued|downloading|waiting for disk space)/);
    const keyboard = first.payload.reply_markup as { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> };
    expect(keyboard.inline_keyboard[0]!.map((b) => b.text)).toEqual(['Older ›']);

    const before = stack.telegram.calls.length;
    stack.telegram.pushUpdate(callbackQuery({ userId: ADMIN_ID, data: keyboard.inline_keyboard[0]![0]!.callback_data }));
    const page2 = await stack.telegram.waitForCall(
      (c) => stack.telegram.calls.indexOf(c) >= before && c.method === 'editMessageText' && /page 2/.test(String(c.payload.text)),
      30_000,
      'page 2',
    );
    expect((String(page2.payload.text).match(/• \[/g) ?? []).length).toBe(1);
    expect(ids.filter((id) => text.includes(id) || String(page2.payload.text).includes(id))).toHaveLength(11);

    // Someone else's /queue does not show them; /queue all does.
    expect(String((await ask(OTHER_ADMIN_ID, '/queue')).payload.text)).toContain('nothing queued, running or paused');
    expect(String((await ask(OTHER_ADMIN_ID, '/queue all')).payload.text)).toMatch(/^📋 Everyone's downloads/);
  } finally {
    await stack.downloads.cancelAll({ id: 'test', name: 'the queue test' });
  }
});

test('/retry <id> runs a failed download again and tells whoever retried it; a finished one is refused', async () => {
  const route = '/videos/comes-back.mp4';
  const url = stack.media.route(route, { status: 404 });
  const link = textMessage({ userId: ADMIN_ID, text: url });
  stack.telegram.pushUpdate(link);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, link.message.message_id, /Download failed/), 60_000, 'the failure');
  const id = contentKey(url).slice(0, 8);
  const handle = stack.client.workflow.getHandle(downloadWorkflowId(contentKey(url)));
  await handle.result();
  const failedRun = (await handle.describe()).runId;

  stack.media.route(route); // the file is back
  const retry = textMessage({ userId: OTHER_ADMIN_ID, text: `/retry ${id}` });
  stack.telegram.pushUpdate(retry);
  const answer = await stack.telegram.waitForCall(
    (c) =>
      c.method === 'sendMessage' && Number(c.payload.chat_id) === OTHER_ADMIN_ID && /Retrying|Could not retry/.test(String(c.payload.text)),
    30_000,
    'the answer to /retry',
  );
  expect(String(answer.payload.text)).toBe(`🔁 Retrying [${id}]; you will be told how it ends.`);
  await stack.telegram.waitForCall(replyTo(OTHER_ADMIN_ID, retry.message.message_id, /Downloaded/), 60_000, 'the retried download');
  // A new run; the failed one stays in the history.
  expect((await handle.describe()).runId).not.toBe(failedRun);
  expect((await stack.client.workflow.getHandle(downloadWorkflowId(contentKey(url)), failedRun).describe()).status.name).toBe('COMPLETED');

  await handle.result(); // the message comes just before the new run closes
  const again = await stack.downloads.retry(id, { chatId: ADMIN_ID, userId: ADMIN_ID, messageId: 999_001, correlationId: 'retry-again' });
  expect(again).toMatchObject({ ok: false, message: expect.stringContaining('only a failed download is retried') });
});

test('a 429 from Telegram is waited out (retry_after) and the reply still arrives, without an apology', async () => {
  stack.telegram.rateLimitNext = 1;
  const isHelp = (c: RecordedCall) =>
    c.method === 'sendMessage' && Number(c.payload.chat_id) === ADMIN_ID && /^Send me one or more links/.test(String(c.payload.text));
  // The fake records the refused call too: the reply is sent twice, the second time after retry_after (1 s).
  const before = stack.telegram.calls.filter(isHelp).length;
  stack.telegram.pushUpdate(textMessage({ userId: ADMIN_ID, text: '/help' }));
  await eventually(() => stack.telegram.calls.filter(isHelp).length === before + 2, 30_000, 'the help text, sent again after the 429');
  const [refused, sent] = stack.telegram.calls.filter(isHelp).slice(-2);
  expect(sent!.at - refused!.at).toBeGreaterThanOrEqual(900);
  expect(stack.telegram.rateLimitNext).toBe(0);
  expect(stack.telegram.sentTo(ADMIN_ID).some((t) => /Something went wrong/.test(t))).toBe(false);
});

test('an internal error reaches the user only as a reference ID that is in the logs', async () => {
  // Telegram refuses the bot's reply once, for good: the handler fails after the link was queued.
  stack.telegram.failNext = 1;
  const url = stack.media.route('/videos/hiccup.mp4');
  const update = textMessage({ userId: ADMIN_ID, text: url });
  stack.telegram.pushUpdate(update);

  const apology = await stack.telegram.waitForCall(
    (c) => c.method === 'sendMessage' && Number(c.payload.chat_id) === ADMIN_ID && /Something went wrong/.test(String(c.payload.text)),
    30_000,
    'the apology',
  );
  const ref = /\(ref: ([0-9a-f]+)\)/.exec(String(apology.payload.text))?.[1];
  expect(ref).toBeDefined();
  // (The ref itself is random hex, which may well contain "429".)
  expect(String(apology.payload.text).replace(ref!, '')).not.toMatch(/400|Bad Request|refused by the test|GrammyError/);
  const failure = stack.logs.entries().find((e) => e.msg === 'update failed' && e.correlationId === ref);
  expect(failure).toBeDefined();
  expect(JSON.stringify(failure)).toContain('refused by the test');
  // The download itself went ahead and its owner is still told.
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, update.message.message_id, /Downloaded/), 60_000, 'the completion message');
});
