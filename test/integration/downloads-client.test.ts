import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import {
  controlQuery,
  controlWorkflowId,
  downloadWorkflowId,
  subscribeSignal,
  type DownloadedFile,
  type DownloadOutcome,
  type GlobalPauseState,
  type Subscriber,
} from '../../domain/downloads/definitions';
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
/** Downloads wait until the test releases them (by content key); a release holds for every later attempt too. */
const waiting = new Map<string, () => void>();
const released = new Set<string>();
function release(contentKey: string): void {
  released.add(contentKey);
  waiting.get(contentKey)?.();
}
/** How the stand-in download behaves, by the start of its content key. */
const BEHAVIOURS: Array<[string, 'stops slowly' | 'hangs' | 'finishes anyway']> = [
  ['5105', 'stops slowly'],
  ['4a46', 'hangs'],
  ['f1f1', 'finishes anyway'],
];
const attempts = new Map<string, number>();
/** Downloads whose stand-in activity has been told to stop. */
const stopping = new Set<string>();
const FILE: DownloadedFile = { title: 'Clip', filePath: 'clip.mp4', sizeBytes: 1234 };
/** Dedup of a download whose key starts with b10c waits until the test lets it go (by content key). */
const dedupGates = new Map<string, () => void>();
/** When set, what a download's first step believes about the global pause (an out-of-date look); otherwise it asks. */
let staleLook: GlobalPauseState | null = null;
const by = { id: 'test:client', name: 'the client test' };

beforeAll(async () => {
  temporal = await startTemporal();
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  workers = await startTestWorkers({
    address: temporal.address,
    namespace: temporal.namespace,
    recentGlobalPause: async () => {
      if (staleLook) return staleLook;
      const view = await client.workflow.getHandle(controlWorkflowId(workers.taskQueue)).query(controlQuery);
      return { paused: view.paused, by: view.pausedBy };
    },
    light: {
      async dedup(input: { contentKey: string }) {
        // Found on disk, after a moment.
        if (input.contentKey.startsWith('dedd')) return new Promise((r) => setTimeout(() => r(FILE), 1_000));
        if (input.contentKey.startsWith('b10c')) await new Promise<void>((r) => dedupGates.set(input.contentKey, r));
        return null;
      },
      async recordResult() {},
      async notify(subscriber: Subscriber, _url: string, outcome: DownloadOutcome) {
        // Telling chat 41 takes a while, so others can join during the telling.
        if (subscriber.chatId === 41) await new Promise((r) => setTimeout(r, 1_500));
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
        const progress = { status: 'downloading', percent: 42, downloadedBytes: 420, totalBytes: 1000, speed: 100, etaSeconds: 6 };
        ctx.heartbeat(progress);
        const gate = released.has(input.contentKey)
          ? Promise.resolve()
          : new Promise<void>((resolve) => waiting.set(input.contentKey, resolve));
        const behaviour = BEHAVIOURS.find(([head]) => input.contentKey.startsWith(head))?.[1];
        const attempt = (attempts.get(input.contentKey) ?? 0) + 1;
        attempts.set(input.contentKey, attempt);
        // A worker that stops answering (on its first attempt): no more heartbeats, so no cancel reaches it.
        if (behaviour === 'hangs' && attempt === 1) {
          await Promise.race([gate, new Promise((r) => setTimeout(r, 30_000))]);
          return FILE;
        }
        const beat = setInterval(() => ctx.heartbeat(progress), 200);
        try {
          await Promise.race([gate, ctx.cancelled]);
        } catch (err) {
          stopping.add(input.contentKey);
          // yt-dlp taking its time to stop; or finishing anyway (moving its file into place).
          if (behaviour === 'stops slowly') await new Promise((r) => setTimeout(r, 1_500));
          if (behaviour === 'finishes anyway') return FILE;
          throw err;
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
  // The first query of a just-started control workflow can take longer than the
  // second a reply waits for it (startOrJoin then says paused: null); ask once here
  // so the first test's start words its answer from a known state.
  expect(await downloads.globalState()).toMatchObject({ paused: false });
}, 60_000);

afterAll(async () => {
  for (const contentKey of waiting.keys()) release(contentKey);
  for (const letGo of dedupGates.values()) letGo();
  await workers?.stop();
  await client?.connection.close();
  await temporal?.stop();
});

let nextMessage = 1;
/** Starts a download of `link` under the given content key (any 64 hex characters), asked for by `userId`. */
async function start(contentKey: string, link = `https://example.com/${contentKey.slice(0, 8)}.mp4`, userId = 7, running?: boolean) {
  const parsed = parseMediaUrl(link);
  if (!parsed.ok) throw new Error('bad link');
  const correlationId = `client-${nextMessage}`;
  return downloads.startOrJoin({
    contentKey,
    url: parsed.url,
    mode: 'video',
    correlationId,
    subscriber: { chatId: userId, userId, messageId: nextMessage++, correlationId },
    ...(running === undefined ? {} : { running }),
  });
}

const key = (head: string) => head.padEnd(64, '0');

async function viewOf(id: string) {
  const view = await downloads.describe(id);
  if (!view.ok) throw new Error(view.message);
  return view;
}

/** The view of a download, or null while visibility does not list it yet (a moment after it starts). */
async function listedView(id: string) {
  const view = await downloads.describe(id);
  return view.ok ? view : null;
}

async function until(id: string, state: string): Promise<void> {
  // Visibility lists a new workflow a moment after it starts: until then its short ID is not found yet.
  await eventuallyAsync(
    async () => {
      const view = await downloads.describe(id);
      return view.ok && view.state === state;
    },
    15_000,
    `${id} to be ${state}`,
  );
}

test('describe shows a running download live: state, progress from its heartbeat, attempt, subscribers; and who paused it', async () => {
  const k = key('d0d0d0d1');
  const started = await start(k);
  expect(started).toMatchObject({ outcome: 'started', shortId: 'd0d0d0d1', workflowId: downloadWorkflowId(k), paused: false });
  expect(await start(k, undefined, 8)).toMatchObject({ outcome: 'joined' });
  await until('d0d0d0d1', 'downloading');
  await eventuallyAsync(async () => (await listedView('d0d0d0d1'))?.progress?.percent === 42, 10_000, 'the heartbeat');

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
  release(k);
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

  release(k);
  expect(await handle.result()).toMatchObject({ status: 'completed', filePath: 'clip.mp4' });
  expect(notified.filter((n) => n.subscriber.chatId === 31)).toHaveLength(1);
});

/** Until the download activity itself runs (its first heartbeat is in), not just the workflow's step. */
async function activityRunning(id: string): Promise<void> {
  await eventuallyAsync(async () => (await listedView(id))?.progress?.percent === 42, 15_000, `${id}'s activity to run`);
}

test('runningAmong names the running downloads of a message in one query; a link it does not name starts, one it names is joined', async () => {
  const [running, ended, never] = ['11a00001', '11a00002', '11a00003'].map(key) as [string, string, string];
  await start(running);
  await start(ended);
  release(ended);
  await client.workflow.getHandle(downloadWorkflowId(ended)).result();
  // The list follows the server by a moment.
  await eventuallyAsync(
    async () => {
      const listed = await downloads.runningAmong([running, ended, never]);
      return listed !== null && listed.has(running) && !listed.has(ended) && !listed.has(never);
    },
    15_000,
    'the list of running downloads',
  );
  expect(await downloads.runningAmong([])).toEqual(new Set());
  // More links than one query asks about, or a key that is not a content key: the links are looked up one by one.
  expect(await downloads.runningAmong(Array.from({ length: 101 }, (_, i) => key(i.toString(16).padStart(8, '0'))))).toBeNull();
  expect(await downloads.runningAmong([running, "x' OR '1'='1"])).toBeNull();

  // What the list said decides: no per-link look for the others.
  expect(await start(never, undefined, 7, false)).toMatchObject({ outcome: 'started' });
  expect(await start(running, undefined, 8, true)).toMatchObject({ outcome: 'joined' });
  // The list is believed without a look of its own: a running download it missed (it lags) is
  // called started, and signal-with-start still joins that same run rather than starting another.
  const runBefore = (await client.workflow.getHandle(downloadWorkflowId(running)).describe()).runId;
  expect(await start(running, undefined, 10, false)).toMatchObject({ outcome: 'started' });
  expect((await client.workflow.getHandle(downloadWorkflowId(running)).describe()).runId).toBe(runBefore);
  // A download ended since the list was read starts afresh (its last run closed).
  expect(await start(ended, undefined, 9, false)).toMatchObject({ outcome: 'started' });
  for (const k of [running, ended, never]) release(k);
  await Promise.all([running, ended, never].map((k) => client.workflow.getHandle(downloadWorkflowId(k)).result()));
});

test("another process's client serves a kept answer of whether everything is paused while it refreshes, unless told to wait for the fresh one", async () => {
  // The worker's client: a pause through the bot's client does not drop its kept answer.
  const other = new DownloadsClient(
    client,
    downloadsSettings(testSettings({ TASK_QUEUE: workers.taskQueue, DOWNLOAD_TASK_QUEUE: workers.downloadTaskQueue })),
  );
  expect(await other.globalState({ maxAgeMs: 1_000 })).toMatchObject({ paused: false });
  expect(await downloads.pauseAll(by)).toMatchObject({ ok: true });
  try {
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await other.globalState({ maxAgeMs: 1_000, serveStale: false })).toMatchObject({ paused: true });
  } finally {
    await downloads.resumeAll(by);
  }
  await new Promise((r) => setTimeout(r, 1_100));
  // Older than a second: served as it is (paused) while a fresh answer is fetched.
  expect(await other.globalState({ maxAgeMs: 1_000 })).toMatchObject({ paused: true });
  await eventuallyAsync(async () => (await other.globalState({ maxAgeMs: 1_000 })).paused === false, 10_000, 'the fresh answer');
});

test('a download waiting for a MAX_CONCURRENT slot counts as queued; only those whose download runs count as downloading', async () => {
  // Five held downloads on a worker with four download slots.
  const keys = ['c0de0001', 'c0de0002', 'c0de0003', 'c0de0004', 'c0de0005'].map(key);
  for (const k of keys) await start(k);
  const states = async () => Promise.all(keys.map(async (k) => (await listedView(k.slice(0, 8)))?.state ?? 'unlisted'));
  await eventuallyAsync(
    async () => {
      const now = await states();
      const running = keys.filter((k) => attempts.has(k));
      return (
        running.length === 4 &&
        now.filter((s) => s === 'downloading').length === 4 &&
        keys.every((k, i) => (attempts.has(k) ? now[i] === 'downloading' : now[i] === 'queued'))
      );
    },
    20_000,
    'four downloading and the fifth queued',
  );
  for (const k of keys) release(k);
  for (const k of keys) expect(await client.workflow.getHandle(downloadWorkflowId(k)).result()).toMatchObject({ status: 'completed' });
});

describe('races the state machine must win', () => {
  test('/pause then /resume before yt-dlp has stopped: the download goes on and ends well', async () => {
    const k = key('51050001');
    await start(k, undefined, 51);
    await activityRunning('51050001');
    expect(await downloads.pauseAll(by)).toMatchObject({ ok: true });
    // Its activity has been told to stop and is stopping (its yt-dlp takes 1.5 s): resume now.
    await eventuallyAsync(async () => stopping.has(k), 10_000, 'the activity to be told to stop');
    expect((await viewOf('51050001')).state).toBe('downloading');
    expect(await downloads.resumeAll(by)).toMatchObject({ ok: true });
    await until('51050001', 'downloading');
    release(k);
    expect(await client.workflow.getHandle(downloadWorkflowId(k)).result()).toMatchObject({ status: 'completed' });
    expect(notified.filter((n) => n.subscriber.chatId === 51).map((n) => n.outcome.status)).toEqual(['completed']);
  });

  test('paused while its activity no longer heartbeats (a worker gone quiet): it waits paused, and resumed, runs again and ends well', async () => {
    const k = key('4a460001');
    await start(k);
    await activityRunning('4a460001');
    // No cancel can reach it: the heartbeat timeout (3 s) ends the step, and the download waits paused.
    expect(await downloads.pause('4a460001', by)).toMatchObject({ ok: true, state: 'paused' });
    expect(await viewOf('4a460001')).toMatchObject({ state: 'paused' });
    expect(await downloads.resume('4a460001', by)).toMatchObject({ ok: true });
    release(k);
    expect(await client.workflow.getHandle(downloadWorkflowId(k)).result()).toMatchObject({ status: 'completed' });
    const history = await client.workflow.getHandle(downloadWorkflowId(k)).fetchHistory();
    expect((history.events ?? []).some((e) => e.activityTaskTimedOutEventAttributes)).toBe(true);
  });

  test('a cancel that arrives as the download finishes anyway is answered with what happened', async () => {
    const k = key('f1f10001');
    await start(k);
    await activityRunning('f1f10001');
    expect(await downloads.cancel('f1f10001', by)).toEqual({
      ok: false,
      reason: 'refused',
      message: 'it has already finished before it could be cancelled',
    });
    expect(await client.workflow.getHandle(downloadWorkflowId(k)).result()).toMatchObject({ status: 'completed', fromCache: false });
  });

  test('a cancel that arrives while the download turns out to be on disk already is answered with what happened', async () => {
    const k = key('deddca01');
    await start(k);
    // Dedup takes a second for this one, then finds the file: the download ends completed.
    await new Promise((r) => setTimeout(r, 300));
    expect(await downloads.cancel('deddca01', by)).toEqual({
      ok: false,
      reason: 'refused',
      message: 'it has already finished before it could be cancelled',
    });
    expect(await client.workflow.getHandle(downloadWorkflowId(k)).result()).toMatchObject({ status: 'completed', fromCache: true });
  });

  test('whoever joins while the result is being told is told too', async () => {
    const k = key('10ad0001');
    await start(k, undefined, 41);
    await activityRunning('10ad0001');
    release(k);
    await until('10ad0001', 'completed');
    // Still telling chat 41 (it takes 1.5 s): join now, bypassing the client's wait for the end.
    await client.workflow
      .getHandle(downloadWorkflowId(k))
      .signal(subscribeSignal, { chatId: 42, userId: 42, messageId: 1, correlationId: 'late' });
    await client.workflow.getHandle(downloadWorkflowId(k)).result();
    expect(
      notified
        .filter((n) => [41, 42].includes(n.subscriber.chatId))
        .map((n) => n.subscriber.chatId)
        .sort(),
    ).toEqual([41, 42]);
  });

  test('a link sent while a cancelled download is still telling people starts afresh', async () => {
    const k = key('afe50001');
    await start(k, undefined, 41);
    await activityRunning('afe50001');
    const first = (await client.workflow.getHandle(downloadWorkflowId(k)).describe()).runId;
    expect(await downloads.cancel('afe50001', by)).toMatchObject({ ok: true });
    const again = await start(k, undefined, 43);
    expect(again.outcome).toBe('started');
    expect((await client.workflow.getHandle(downloadWorkflowId(k)).describe()).runId).not.toBe(first);
    await until('afe50001', 'downloading');
    await downloads.cancel('afe50001', by);
  });

  test("a global resume that reaches a download before its first step ends wins over that step's older look (paused)", async () => {
    const k = key('b10c0001');
    const control = client.workflow.getHandle(controlWorkflowId(workers.taskQueue));
    expect(await downloads.pauseAll(by)).toMatchObject({ ok: true });
    await start(k);
    // Its first step has looked (everything is paused), registered saying so, and is held in dedup.
    await eventuallyAsync(async () => (await control.query(controlQuery)).active.includes(downloadWorkflowId(k)), 15_000, 'registered');
    await eventuallyAsync(async () => dedupGates.has(k), 15_000, 'dedup to be running');
    // The resume reaches the registered download as a signal, before its first step reports.
    expect(await downloads.resumeAll(by)).toMatchObject({ ok: true });
    const handle = client.workflow.getHandle(downloadWorkflowId(k));
    const globalSignals = async () =>
      ((await handle.fetchHistory()).events ?? []).flatMap((e) => {
        const signal = e.workflowExecutionSignaledEventAttributes;
        if (signal?.signalName !== 'globalPause') return [];
        return [(JSON.parse(Buffer.from(signal.input!.payloads![0]!.data!).toString('utf8')) as { paused: boolean }).paused];
      });
    await eventuallyAsync(async () => (await globalSignals()).length > 0, 15_000, 'the resume to reach the download');
    // The look was right when it registered: the control workflow sent nothing but the resume.
    expect(await globalSignals()).toEqual([false]);
    dedupGates.get(k)!();
    // The look ("paused") is older than the resume: the download runs.
    await until('b10c0001', 'downloading');
    expect((await viewOf('b10c0001')).paused).toBe(false);
    release(k);
    expect(await handle.result()).toMatchObject({ status: 'completed' });
    // Its last step unregistered it.
    await eventuallyAsync(async () => !(await control.query(controlQuery)).active.includes(downloadWorkflowId(k)), 15_000, 'unregistered');
  });

  test('a first step that assumed wrong (its look at the global pause out of date) is corrected by the control workflow', async () => {
    const k = key('b10c0002');
    expect(await downloads.pauseAll(by)).toMatchObject({ ok: true });
    staleLook = { paused: false, by: null };
    try {
      await start(k);
      await eventuallyAsync(async () => dedupGates.has(k), 15_000, 'dedup to be running');
    } finally {
      staleLook = null;
    }
    // It registered assuming "not paused"; everything is paused, so the control workflow says so.
    const handle = client.workflow.getHandle(downloadWorkflowId(k));
    await eventuallyAsync(
      async () =>
        ((await handle.fetchHistory()).events ?? []).some((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'globalPause'),
      15_000,
      'the correction to reach the download',
    );
    dedupGates.get(k)!();
    await until('b10c0002', 'paused');
    // Corrected before its first step ended: the download step never ran.
    expect(attempts.get(k)).toBeUndefined();
    expect(await downloads.resumeAll(by)).toMatchObject({ ok: true });
    await until('b10c0002', 'downloading');
    release(k);
    expect(await client.workflow.getHandle(downloadWorkflowId(k)).result()).toMatchObject({ status: 'completed' });
  });

  test('links and global pauses sent at the same moment: every link ends up paused', async () => {
    const keys = ['0ace0001', '0ace0002', '0ace0003', '0ace0004'].map(key);
    const [pauseAnswer] = await Promise.all([downloads.pauseAll(by), ...keys.map((k) => start(k))]);
    expect(pauseAnswer).toMatchObject({ ok: true });
    for (const k of keys) await until(k.slice(0, 8), 'paused');
    await downloads.resumeAll(by);
    for (const k of keys) await until(k.slice(0, 8), 'downloading');
    for (const k of keys) await downloads.cancel(k, by);
  });
});
