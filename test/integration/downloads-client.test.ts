import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import { downloadWorkflowId, type DownloadedFile, type DownloadOutcome, type Subscriber } from '../../domain/downloads/definitions';
import { parseMediaUrl } from '../../domain/downloads/links';
import { eventuallyAsync } from '../support/eventually';
import { testSettings } from '../support/settings';
import { startTemporal, type TestTemporal } from '../support/temporal-server';
import { startTestWorkers, type TestWorkers } from '../support/test-workers';

/**
 * The downloads client, the one door to the download workflows, on a real
 * Temporal dev server with stand-in activities: describe, list, short IDs,
 * and the answers of pause, resume and cancel; and a download paused over and
 * over keeps a small history.
 */

let temporal: TestTemporal;
let client: Client;
let workers: TestWorkers;
let downloads: DownloadsClient;
const notified: Array<{ subscriber: Subscriber; outcome: DownloadOutcome }> = [];
/** Downloads wait here until the test releases them (by content key). */
const gates = new Map<string, () => void>();
const FILE: DownloadedFile = { title: 'Clip', filePath: 'clip.mp4', sizeBytes: 1234 };
const by = { id: 'test:client', name: 'the client test' };

beforeAll(async () => {
  temporal = await startTemporal();
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  workers = await startTestWorkers({
    address: temporal.address,
    namespace: temporal.namespace,
    light: {
      async dedup() {
        return null;
      },
      async recordResult() {},
      async notify(subscriber: Subscriber, _url: string, outcome: DownloadOutcome) {
        notified.push({ subscriber, outcome });
      },
    },
    downloads: {
      async checkDiskSpace() {},
      async discardDownload() {
        return [];
      },
      async download(input: { contentKey: string }): Promise<DownloadedFile> {
        const ctx = Context.current();
        ctx.heartbeat({ status: 'downloading', percent: 42, downloadedBytes: 420, totalBytes: 1000, speed: 100, etaSeconds: 6 });
        const released = new Promise<void>((resolve) => gates.set(input.contentKey, resolve));
        const beat = setInterval(
          () => ctx.heartbeat({ status: 'downloading', percent: 42, downloadedBytes: 420, totalBytes: 1000, speed: 100, etaSeconds: 6 }),
          200,
        );
        try {
          await Promise.race([released, ctx.cancelled]);
        } finally {
          clearInterval(beat);
        }
        return FILE;
      },
    },
  });
  downloads = new DownloadsClient(
    client,
    downloadsSettings(
      testSettings({ TASK_QUEUE: workers.taskQueue, DOWNLOAD_TASK_QUEUE: workers.downloadTaskQueue, HEARTBEAT_TIMEOUT_SECONDS: 5 }),
    ),
  );
}, 60_000);

afterAll(async () => {
  for (const release of gates.values()) release();
  await workers?.stop();
  await client?.connection.close();
  await temporal?.stop();
});

let nextMessage = 1;
/** Starts a download of `link` under the given content key (any 64 hex characters), asked for by `userId`. */
async function start(contentKey: string, link = `https://example.com/${contentKey.slice(0, 8)}.mp4`, userId = 7) {
  const parsed = parseMediaUrl(link);
  if (!parsed.ok) throw new Error('bad link');
  const correlationId = `client-${nextMessage}`;
  return downloads.startOrJoin({
    contentKey,
    url: parsed.url,
    mode: 'video',
    correlationId,
    subscriber: { chatId: userId, userId, messageId: nextMessage++, correlationId },
  });
}

const key = (head: string) => head.padEnd(64, '0');

async function viewOf(id: string) {
  const view = await downloads.describe(id);
  if (!view.ok) throw new Error(view.message);
  return view;
}

async function until(id: string, state: string): Promise<void> {
  await eventuallyAsync(async () => (await viewOf(id)).state === state, 15_000, `${id} to be ${state}`);
}

test('describe shows a running download live: state, progress from its heartbeat, attempt, subscribers; and who paused it', async () => {
  const k = key('d0d0d0d1');
  const started = await start(k);
  expect(started).toMatchObject({ outcome: 'started', shortId: 'd0d0d0d1', workflowId: downloadWorkflowId(k), paused: false });
  expect(await start(k, undefined, 8)).toMatchObject({ outcome: 'joined' });
  await until('d0d0d0d1', 'downloading');
  await eventuallyAsync(async () => (await viewOf('d0d0d0d1')).progress?.percent === 42, 10_000, 'the heartbeat');

  expect(await viewOf('d0d0d0d1')).toMatchObject({
    contentKey: k,
    shortId: 'd0d0d0d1',
    url: 'https://example.com/d0d0d0d1.mp4',
    state: 'downloading',
    platform: 'generic',
    requestedBy: ['7', '8'],
    running: true,
    paused: false,
    subscribers: 2,
    progress: { percent: 42, downloadedBytes: 420, totalBytes: 1000, speed: 100, etaSeconds: 6, attempt: 1 },
  });

  expect(await downloads.pause('d0d0d0d1', by)).toEqual({
    ok: true,
    shortId: 'd0d0d0d1',
    state: 'paused',
    message: 'paused; its partial file is kept',
  });
  await until('d0d0d0d1', 'paused');
  expect(await viewOf('d0d0d0d1')).toMatchObject({ paused: true, pausedBy: by, progress: null });

  expect(await downloads.cancel('d0d0d0d1', by)).toMatchObject({ ok: true, state: 'cancelled' });
  await client.workflow.getHandle(downloadWorkflowId(k)).result();
  expect(await viewOf('d0d0d0d1')).toMatchObject({ state: 'cancelled', running: false, closedAt: expect.any(Date) });
});

test('pause, resume and cancel answer truthfully, and refuse what cannot be done', async () => {
  const k = key('a1a1a1a1');
  await start(k);
  await until('a1a1a1a1', 'downloading');

  expect(await downloads.resume('a1a1a1a1', by)).toEqual({ ok: false, reason: 'refused', message: 'it is not paused' });
  expect(await downloads.pause('a1a1a1a1', by)).toMatchObject({ ok: true });
  expect(await downloads.pause('a1a1a1a1', by)).toEqual({
    ok: false,
    reason: 'refused',
    message: 'it is already paused (by the client test)',
  });
  expect(await downloads.resume('a1a1a1a1', by)).toMatchObject({ ok: true, state: 'queued' });
  await until('a1a1a1a1', 'downloading');
  gates.get(k)!();
  const outcome = await client.workflow.getHandle(downloadWorkflowId(k)).result();
  expect(outcome).toMatchObject({ status: 'completed' });

  expect(await downloads.pause('a1a1a1a1', by)).toEqual({ ok: false, reason: 'finished', message: 'it has already finished' });
  expect(await downloads.cancel('a1a1a1a1', by)).toEqual({ ok: false, reason: 'finished', message: 'it has already finished' });
});

test('short IDs: any prefix of 6 or more resolves; an ambiguous one lists longer IDs; unknown and malformed ones are named', async () => {
  await start(key('bbbbbb01'));
  await start(key('bbbbbb02'));
  await eventuallyAsync(async () => (await downloads.resolve('bbbbbb01')).ok, 10_000, 'the downloads to be visible');

  expect(await downloads.resolve('bbbbbb01')).toEqual({ ok: true, contentKey: key('bbbbbb01'), shortId: 'bbbbbb01' });
  expect(await downloads.resolve(key('bbbbbb02'))).toEqual({ ok: true, contentKey: key('bbbbbb02'), shortId: 'bbbbbb02' });
  expect(await downloads.resolve('BBBBBB01')).toMatchObject({ ok: true, shortId: 'bbbbbb01' });
  expect(await downloads.resolve('bbbbbb')).toEqual({
    ok: false,
    reason: 'ambiguous',
    message: 'bbbbbb could be bbbbbb01, bbbbbb02; give more of the ID',
    candidates: ['bbbbbb01', 'bbbbbb02'],
  });
  expect(await downloads.resolve('cccccc')).toEqual({ ok: false, reason: 'not_found', message: 'no download has the ID cccccc' });
  expect(await downloads.resolve('bbbbb')).toMatchObject({ ok: false, reason: 'bad_id' });
  expect(await downloads.resolve("bbbbbb' OR 1=1")).toMatchObject({ ok: false, reason: 'bad_id' });
  expect(await downloads.pause('nothere', by)).toMatchObject({ ok: false, reason: 'bad_id' });

  for (const head of ['bbbbbb01', 'bbbbbb02']) await downloads.cancel(head, by);
});

test('list filters by state, requester and platform, newest first, one page at a time', async () => {
  await start(key('e1e1e1e1'), 'https://youtu.be/dQw4w9WgXcQ', 21);
  await start(key('e2e2e2e2'), 'https://example.com/e2.mp4', 22);
  await start(key('e3e3e3e3'), 'https://example.com/e3.mp4', 22);
  await until('e3e3e3e3', 'downloading');
  await downloads.pause('e3e3e3e3', by);
  await until('e3e3e3e3', 'paused');

  const ids = (page: { downloads: Array<{ shortId: string }> }) => page.downloads.map((d) => d.shortId);
  expect(ids(await downloads.list({ requestedBy: '22' }))).toEqual(['e3e3e3e3', 'e2e2e2e2']);
  expect(ids(await downloads.list({ platform: 'youtube' }))).toEqual(['e1e1e1e1']);
  expect(ids(await downloads.list({ states: ['paused'], requestedBy: '22' }))).toEqual(['e3e3e3e3']);

  const first = await downloads.list({ requestedBy: '22' }, { pageSize: 1 });
  expect(ids(first)).toEqual(['e3e3e3e3']);
  expect(first.nextPageToken).toEqual(expect.any(String));
  const second = await downloads.list({ requestedBy: '22' }, { pageSize: 1, nextPageToken: first.nextPageToken });
  expect(ids(second)).toEqual(['e2e2e2e2']);
  expect(second.downloads[0]).toMatchObject({
    url: 'https://example.com/e2.mp4',
    platform: 'generic',
    requestedBy: ['22'],
    closedAt: null,
  });

  for (const head of ['e1e1e1e1', 'e2e2e2e2', 'e3e3e3e3']) await downloads.cancel(head, by);
});

test('paused and resumed over and over, a download keeps a small history (continue-as-new) and still ends once', async () => {
  const k = key('f0f0f0f0');
  const limited = new DownloadsClient(
    client,
    (() => {
      const settings = downloadsSettings(testSettings({ TASK_QUEUE: workers.taskQueue, DOWNLOAD_TASK_QUEUE: workers.downloadTaskQueue }));
      return { ...settings, policy: { ...settings.policy, historyLimit: 60 } };
    })(),
  );
  const parsed = parseMediaUrl('https://example.com/often-paused.mp4');
  if (!parsed.ok) throw new Error('bad link');
  await limited.startOrJoin({
    contentKey: k,
    url: parsed.url,
    mode: 'video',
    correlationId: 'often',
    subscriber: { chatId: 31, userId: 31, messageId: 1, correlationId: 'often' },
  });
  const handle = client.workflow.getHandle(downloadWorkflowId(k));
  const firstRun = (await handle.describe()).runId;

  for (let i = 0; i < 8; i++) {
    await until('f0f0f0f0', 'downloading');
    expect(await limited.pause('f0f0f0f0', by)).toMatchObject({ ok: true });
    await until('f0f0f0f0', 'paused');
    expect(await limited.resume('f0f0f0f0', by)).toMatchObject({ ok: true });
  }
  await until('f0f0f0f0', 'downloading');
  const description = await handle.describe();
  expect(description.runId).not.toBe(firstRun);
  expect(description.historyLength).toBeLessThan(100);

  gates.get(k)!();
  expect(await handle.result()).toMatchObject({ status: 'completed', filePath: 'clip.mp4' });
  expect(notified.filter((n) => n.subscriber.chatId === 31)).toHaveLength(1);
});
