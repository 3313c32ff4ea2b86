import fs from 'node:fs';
import path from 'node:path';
import { INCOMPLETE_DIR } from '../../activities/ytdlp';
import { downloadWorkflowId, PLAYLIST_WORKFLOW_TYPE, shortId } from '../../domain/downloads/definitions';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import { completedLookup } from '../../domain/downloads/completed';
import { parseMediaUrl } from '../../domain/downloads/links';
import { keyOf, replyTo, sendText } from '../support/bot-messages';
import { eventually, eventuallyAsync } from '../support/eventually';
import { ADMIN_ID, OTHER_ADMIN_ID, startStack, type Stack } from '../support/stack';

/**
 * Playlists through the real bot, worker, yt-dlp and Temporal: a page of
 * several videos and RSS feeds (served on loopback) become a playlist workflow
 * that starts one content-addressed download per entry.
 */

let stack: Stack;

beforeAll(async () => {
  // The largest cap allowed; two entries of a playlist at once (the large feed below asks for more).
  stack = await startStack({
    MAX_PLAYLIST_VIDEOS: '1000',
    PLAYLIST_PARALLEL: '2',
    HEARTBEAT_TIMEOUT_SECONDS: '10',
    DIRECT_SOURCE: 'true',
    // A slow feed below must not time yt-dlp out (the stack's default is 5 s).
    SOCKET_TIMEOUT: '30',
  });
});

afterAll(async () => {
  await stack?.stop();
});

const SLOW = 4_000; // bytes per second: a clip (about 45 KB) takes some 10 seconds

function send(text: string, userId = ADMIN_ID): number {
  return sendText(stack.telegram, text, userId);
}

function repliesTo(chatId: number, messageId: number, pattern: RegExp): string[] {
  return stack.telegram.calls.filter(replyTo(chatId, messageId, pattern)).map((c) => String(c.payload.text));
}

/** An RSS feed whose items enclose the given media URLs. */
function feed(title: string, items: Array<{ title: string; url: string }>): string {
  const entries = items
    .map((i) => `<item><title>${i.title}</title><guid>${i.url}</guid><enclosure url="${i.url}" type="video/mp4" length="1000"/></item>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel><title>${title}</title><link>${stack.media.origin}/</link><description>test</description>\n${entries}\n</channel></rss>`;
}

async function closeOf(workflowId: string) {
  const handle = stack.client.workflow.getHandle(workflowId);
  await eventuallyAsync(async () => (await handle.describe()).status.name !== 'RUNNING', 60_000, `${workflowId} to close`);
  return handle.describe();
}

test('a page with several videos becomes a playlist: one reply when queued, files in its folder, one summary', async () => {
  const clips = [1, 2, 3].map((n) => stack.media.route(`/page/clip-${n}.mp4`));
  const page = stack.media.page(
    '/three-clips.html',
    `<html><head><title>Three clips</title></head><body>${clips.map((c) => `<video src="${c}"></video>`).join('')}</body></html>`,
  );
  const messageId = send(page);
  const id = shortId(keyOf(page));

  const queued = await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Queued 3 videos from/), 60_000, 'the playlist reply');
  expect(String(queued.payload.text)).toContain(`"Three clips" [${id}]`);
  expect(String(queued.payload.text)).toContain('Files go to: Three_clips/');
  const summary = await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Playlist .* finished/), 90_000, 'the summary');
  expect(String(summary.payload.text)).toContain('3 videos: downloaded: 3, already had: 0, failed: 0');

  const folder = path.join(stack.config.DOWNLOAD_DIR, 'Three_clips');
  const files = fs.readdirSync(folder).sort();
  expect(files).toHaveLength(3);
  for (const file of files) expect(fs.statSync(path.join(folder, file)).size).toBe(stack.media.clipSize);
  // The intake reply, one message when the entries are queued, one at the end: no message per entry.
  const replies = repliesTo(ADMIN_ID, messageId, /./);
  expect(replies).toHaveLength(3);
  expect(replies[0]).toMatch(/^Queued 1 download/);
  const closed = await closeOf(downloadWorkflowId(keyOf(page)));
  expect(closed.type).toBe(PLAYLIST_WORKFLOW_TYPE);
  const row = await stack.database.db.download.findUniqueOrThrow({ where: { contentKey: keyOf(page) } });
  expect(row).toMatchObject({ state: 'completed', title: 'Three clips', filePath: null });
});

test('an RSS feed is a playlist; a failing entry does not fail the others, and the summary names it', async () => {
  const items = [1, 2, 3, 4].map((n) => ({ title: `Episode ${n}`, url: stack.media.route(`/feed/ep-${n}.mp4`) }));
  stack.media.route('/feed/ep-2.mp4', { status: 404 });
  const url = stack.media.page('/podcast.rss', feed('Weekly Show', items), 'application/rss+xml');
  const messageId = send(url);

  const queued = await stack.telegram.waitForCall(
    replyTo(ADMIN_ID, messageId, /Queued 4 videos from "Weekly Show"/),
    60_000,
    'the playlist reply',
  );
  expect(String(queued.payload.text)).not.toContain('MAX_PLAYLIST_VIDEOS');
  const summary = String(
    (await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Playlist .* finished/), 90_000, 'the summary')).payload.text,
  );
  expect(summary).toContain('4 videos: downloaded: 3, already had: 0, failed: 1');
  expect(summary).toMatch(/Failed:\n• Episode 2: .*(not found|404)/i);
  expect(fs.readdirSync(path.join(stack.config.DOWNLOAD_DIR, 'Weekly_Show'))).toHaveLength(3);
});

test('the largest playlist: a feed of 1,003 entries is capped at 1,000, all of them end, and no run of it passes 10,000 events', async () => {
  const ENTRIES = 1_003;
  const CAP = 1_000;
  const small = path.join(stack.media.dir, 'tiny.mp4');
  fs.writeFileSync(small, fs.readFileSync(stack.media.clipPath).subarray(0, 4096));
  const urls = Array.from({ length: ENTRIES }, (_, i) => stack.media.route(`/big/e${i}.mp4`, { file: small }));
  const url = stack.media.page(
    '/big.rss',
    feed(
      'Big Feed',
      urls.map((u, i) => ({ title: `Entry ${i}`, url: u })),
    ),
    'application/rss+xml',
  );
  // Nine in ten entries were downloaded before (in the record, on disk): they are answered
  // from it, as the bot answers a link already downloaded; one in ten is downloaded now.
  const had = urls.slice(0, CAP).filter((_, i) => i % 10 !== 0);
  await stack.database.db.download.createMany({
    data: had.map((u, i) => {
      const key = keyOf(u);
      fs.writeFileSync(path.join(stack.config.DOWNLOAD_DIR, `had-${i}.mp4`), 'x');
      return {
        contentKey: key,
        url: u,
        normalizedUrl: u,
        platform: 'generic',
        mode: 'video' as const,
        state: 'completed' as const,
        filePath: `had-${i}.mp4`,
        sizeBytes: 1n,
        title: `had ${i}`,
        workflowId: downloadWorkflowId(key),
      };
    }),
  });
  // Forty entries at once (PLAYLIST_PARALLEL as this downloads client is configured; the bot's is 2 here),
  // and a history limit of 300 events instead of 2,000, so the playlist hands its state to new runs several times.
  const settings = downloadsSettings(stack.config);
  const policy = { ...settings.policy, playlistParallel: 40, historyLimit: 300 };
  const downloads = new DownloadsClient(
    stack.client,
    { ...settings, policy },
    completedLookup(stack.database.db, stack.config.DOWNLOAD_DIR),
  );
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error('bad url');
  const messageId = 9_000_001;
  await downloads.startOrJoin({
    contentKey: keyOf(url),
    url: parsed.url,
    mode: 'video',
    correlationId: 'big-feed',
    subscriber: { chatId: ADMIN_ID, userId: ADMIN_ID, messageId, correlationId: 'big-feed' },
  });

  const queued = await stack.telegram.waitForCall(
    replyTo(ADMIN_ID, messageId, /Queued 1000 videos from "Big Feed"/),
    60_000,
    'the playlist reply',
  );
  expect(String(queued.payload.text)).toContain('only the first 1000 are taken (MAX_PLAYLIST_VIDEOS)');
  const summary = await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Playlist "Big Feed" finished/), 120_000, 'the summary');
  expect(String(summary.payload.text)).toContain('1000 videos: downloaded: 100, already had: 900, failed: 0');
  expect(fs.readdirSync(path.join(stack.config.DOWNLOAD_DIR, 'Big_Feed'))).toHaveLength(100);
  for (let i = 0; i < ENTRIES; i += 1) expect(stack.media.count(`/big/e${i}.mp4`)).toBe(i < CAP && i % 10 === 0 ? 1 : 0);

  // Every run of the playlist's workflow ID, counted from its history.
  const workflowId = downloadWorkflowId(keyOf(url));
  const runs: Array<{ type: string; events: number }> = [];
  for await (const info of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await stack.client.workflow.getHandle(workflowId, info.runId).fetchHistory();
    runs.push({ type: info.type, events: history.events?.length ?? 0 });
  }
  expect(runs.filter((r) => r.type === PLAYLIST_WORKFLOW_TYPE).length).toBeGreaterThan(1);
  // Each run stays near the limit it was given (300, plus what one wake-up adds), far under 10,000.
  for (const run of runs) expect(run.events).toBeLessThan(1_000);
});

test('an entry shared by two playlists and a direct request is downloaded once, and everyone is told once', async () => {
  const shared = stack.media.route('/shared/both.mp4', { bytesPerSecond: SLOW });
  const onlyA = stack.media.route('/shared/only-a.mp4');
  const onlyB = stack.media.route('/shared/only-b.mp4');
  const feedA = stack.media.page(
    '/shared/a.rss',
    feed('Show A', [
      { title: 'Both', url: shared },
      { title: 'Only A', url: onlyA },
    ]),
    'application/rss+xml',
  );
  const feedB = stack.media.page(
    '/shared/b.rss',
    feed('Show B', [
      { title: 'Both', url: shared },
      { title: 'Only B', url: onlyB },
    ]),
    'application/rss+xml',
  );

  const direct = send(shared, OTHER_ADMIN_ID);
  const a = send(feedA);
  const b = send(feedB);
  const summaryA = await stack.telegram.waitForCall(replyTo(ADMIN_ID, a, /Playlist "Show A" .*finished/), 90_000, 'summary A');
  const summaryB = await stack.telegram.waitForCall(replyTo(ADMIN_ID, b, /Playlist "Show B" .*finished/), 90_000, 'summary B');
  await stack.telegram.waitForCall(replyTo(OTHER_ADMIN_ID, direct, /Downloaded/), 60_000, 'the direct requester');

  // One download of the shared file: one request for its bytes, one file, one workflow run.
  expect(stack.media.count('/shared/both.mp4')).toBe(1);
  expect(String(summaryA.payload.text)).toMatch(/2 videos: downloaded: 2|2 videos: downloaded: 1, already had: 1/);
  expect(String(summaryB.payload.text)).toMatch(/2 videos: downloaded: 2|2 videos: downloaded: 1, already had: 1/);
  // The direct requester hears once; the playlists' requester gets no message per entry.
  expect(repliesTo(OTHER_ADMIN_ID, direct, /Downloaded/)).toHaveLength(1);
  expect(repliesTo(ADMIN_ID, a, /Downloaded/)).toHaveLength(0);
  const runs: string[] = [];
  for await (const info of stack.client.workflow.list({ query: `WorkflowId = '${downloadWorkflowId(keyOf(shared))}'` }))
    runs.push(info.runId);
  expect(runs).toHaveLength(1);
});

test('pause, resume and cancel of a playlist act on all its remaining entries', async () => {
  const items = [1, 2, 3, 4].map((n) => ({ title: `Slow ${n}`, url: stack.media.route(`/slow/s-${n}.mp4`, { bytesPerSecond: SLOW }) }));
  const url = stack.media.page('/slow.rss', feed('Slow Show', items), 'application/rss+xml');
  const messageId = send(url);
  const id = shortId(keyOf(url));
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Queued 4 videos/), 60_000, 'the playlist reply');

  // Two entries run at once (PLAYLIST_PARALLEL=2); wait until both are fetching.
  await eventually(() => stack.media.count('/slow/s-1.mp4') + stack.media.count('/slow/s-2.mp4') === 2, 30_000, 'two entries fetching');
  const paused = await stack.downloads.pause(id, { id: 'test', name: 'Tester' });
  expect(paused).toMatchObject({ ok: true, state: 'paused' });
  const running = [1, 2].map((n) => downloadWorkflowId(keyOf(items[n - 1]!.url)));
  for (const workflowId of running) {
    const entry = shortId(workflowId.slice('download-'.length));
    await eventuallyAsync(
      async () =>
        (await stack.downloads.describe(entry)).ok && ((await stack.downloads.describe(entry)) as { state: string }).state === 'paused',
      30_000,
      'the entry paused',
    );
    expect(await stack.downloads.describe(entry)).toMatchObject({ ok: true, pausedBy: { id: `playlist:${id}` } });
  }
  // Nothing new starts while paused.
  await new Promise((r) => setTimeout(r, 1_500));
  expect(stack.media.count('/slow/s-3.mp4')).toBe(0);
  const view = await stack.downloads.describe(id);
  expect(view).toMatchObject({ ok: true, state: 'paused' });

  // Resumed: the entries it paused continue from their partial files.
  const resumed = await stack.downloads.resume(id, { id: 'test', name: 'Tester' });
  expect(resumed).toMatchObject({ ok: true });
  for (const workflowId of running) {
    const entry = shortId(workflowId.slice('download-'.length));
    await eventuallyAsync(
      async () => {
        const v = await stack.downloads.describe(entry);
        return v.ok && v.state === 'downloading' && v.pausedBy === null;
      },
      30_000,
      'the entry resumed',
    );
  }
  const ranges = () => [1, 2].flatMap((n) => stack.media.rangeStarts.get(`/slow/s-${n}.mp4`) ?? []);
  await eventually(() => ranges().some((start) => start > 0), 30_000, 'an entry to ask for the rest of its file');

  // Paused again, then cancelled.
  expect(await stack.downloads.pause(id, { id: 'test', name: 'Tester' })).toMatchObject({ ok: true, state: 'paused' });
  const cancelled = await stack.downloads.cancel(id, { id: 'test', name: 'Tester' });
  expect(cancelled).toMatchObject({ ok: true, state: 'cancelled' });
  const summary = await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /cancelled by Tester/), 30_000, 'the summary');
  expect(String(summary.payload.text)).toContain('4 videos: downloaded: 0, already had: 0, failed: 0, cancelled: 4');
  for (const workflowId of running) expect((await closeOf(workflowId)).status.name).toBe('COMPLETED');
  // Partial files of the released entries are removed.
  const partials = () =>
    fs.readdirSync(path.join(stack.config.DOWNLOAD_DIR, INCOMPLETE_DIR)).filter((f) => running.some((w) => f.includes(w.slice(9, 21))));
  await eventually(() => partials().length === 0, 20_000, 'the partial files removed');
  expect(stack.media.count('/slow/s-3.mp4')).toBe(0);
});

test("a playlist's pause and cancel leave alone an entry someone asked for directly", async () => {
  const mine = stack.media.route('/shared-slow/mine.mp4', { bytesPerSecond: SLOW });
  const theirs = stack.media.route('/shared-slow/theirs.mp4', { bytesPerSecond: 8_000 });
  const direct = send(theirs, OTHER_ADMIN_ID);
  await eventually(() => stack.media.count('/shared-slow/theirs.mp4') === 1, 30_000, 'the direct download to start');
  const url = stack.media.page(
    '/shared-slow.rss',
    feed('Shared Slow', [
      { title: 'Mine', url: mine },
      { title: 'Theirs', url: theirs },
    ]),
    'application/rss+xml',
  );
  const messageId = send(url);
  const id = shortId(keyOf(url));
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Queued 2 videos/), 60_000, 'the playlist reply');
  await eventually(() => stack.media.count('/shared-slow/mine.mp4') === 1, 30_000, 'the playlist entry to start');

  expect(await stack.downloads.pause(id, { id: 'test', name: 'Tester' })).toMatchObject({ ok: true, state: 'paused' });
  const mineId = shortId(keyOf(mine));
  await eventuallyAsync(
    async () => {
      const v = await stack.downloads.describe(mineId);
      return v.ok && v.state === 'paused';
    },
    30_000,
    'the playlist-only entry paused',
  );
  // The entry someone asked for directly is not held by the playlist's pause.
  expect(await stack.downloads.describe(shortId(keyOf(theirs)))).toMatchObject({ ok: true, paused: false, pausedBy: null });

  expect(await stack.downloads.cancel(id, { id: 'test', name: 'Tester' })).toMatchObject({ ok: true, state: 'cancelled' });
  expect(await stack.client.workflow.getHandle(downloadWorkflowId(keyOf(mine))).result()).toMatchObject({ status: 'cancelled' });
  // ...nor stopped by its cancel: the person who asked gets the file.
  await stack.telegram.waitForCall(replyTo(OTHER_ADMIN_ID, direct, /Downloaded/), 60_000, 'the direct requester told');
  expect(stack.telegram.sentTo(OTHER_ADMIN_ID).filter((t) => /cancelled/i.test(t))).toEqual([]);
});

test('a playlist cancelled while its entries are still being listed stops the listing and queues nothing', async () => {
  const entries = [1, 2].map((n) => ({ title: `Late ${n}`, url: stack.media.route(`/late/l-${n}.mp4`) }));
  const file = path.join(stack.media.dir, 'late.rss');
  fs.writeFileSync(file, feed('Late Show', entries));
  // Every request for the feed waits 5 s: the first (the download finding a playlist), then the
  // listing's, which the cancel below stops while it waits.
  const url = stack.media.route('/late.rss', { file, contentType: 'application/rss+xml', delayMs: 5_000 });
  const messageId = send(url);
  const id = shortId(keyOf(url));
  const handle = stack.client.workflow.getHandle(downloadWorkflowId(keyOf(url)));
  await eventuallyAsync(
    () =>
      handle.describe().then(
        (d) => d.type === PLAYLIST_WORKFLOW_TYPE,
        () => false,
      ),
    30_000,
    'the listing to begin',
  );
  await eventually(() => stack.media.count('/late.rss') >= 2, 30_000, 'the listing to ask for the feed');

  expect(await stack.downloads.cancel(id, { id: 'test', name: 'Tester' })).toMatchObject({ ok: true, state: 'cancelled' });
  const summary = await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /cancelled by Tester/), 30_000, 'the summary');
  expect(String(summary.payload.text)).toContain('0 videos');
  expect(repliesTo(ADMIN_ID, messageId, /Queued \d+ videos/)).toEqual([]);
  expect(stack.media.count('/late/l-1.mp4') + stack.media.count('/late/l-2.mp4')).toBe(0);
  expect(await handle.result()).toMatchObject({ status: 'cancelled' });
  // The listing was stopped: even after its feed has answered, no entry is ever started.
  await new Promise((r) => setTimeout(r, 4_000));
  expect(stack.media.count('/late/l-1.mp4') + stack.media.count('/late/l-2.mp4')).toBe(0);
});

test('a playlist inside a playlist is not expanded: that entry fails saying so, the others download', async () => {
  const inner = stack.media.page(
    '/nested/inner.rss',
    feed('Inner', [{ title: 'Deep', url: stack.media.route('/nested/deep.mp4') }]),
    'application/rss+xml',
  );
  const clip = stack.media.route('/nested/clip.mp4');
  const outer = stack.media.page(
    '/nested/outer.rss',
    feed('Outer', [
      { title: 'Clip', url: clip },
      { title: 'Inner feed', url: inner },
    ]),
    'application/rss+xml',
  );
  const messageId = send(outer);
  const summary = String(
    (await stack.telegram.waitForCall(replyTo(ADMIN_ID, messageId, /Playlist "Outer" finished/), 90_000, 'the summary')).payload.text,
  );
  expect(summary).toContain('2 videos: downloaded: 1, already had: 0, failed: 1');
  expect(summary).toContain('• Inner feed: this entry is itself a playlist; playlists inside playlists are not expanded');
  expect(stack.media.count('/nested/deep.mp4')).toBe(0);
});
