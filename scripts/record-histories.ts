// npm run histories:record: runs the current workflow code through real
// scenarios (a test stack: Temporal dev server, PostgreSQL, the worker with
// yt-dlp, the bot on a fake Bot API) and writes each workflow's history to
// test/support/histories/<version>-<scenario>.json for the replay tests.
// Run it after a release's workflow code is final (npm run histories:record -- v3);
// keep older files: they are what running workflows look like when new code meets them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DownloadsClient, downloadsSettings } from '../domain/downloads/client';
import { controlWorkflowId, downloadWorkflowId } from '../domain/downloads/definitions';
import { contentKeyFor, parseMediaUrl } from '../domain/downloads/links';
import { resolveTemporalCli } from '../lib/temporal-cli';
import { ensureSchedules } from '../workers/schedules';
import { eventually, eventuallyAsync } from '../test/support/eventually';
import { ADMIN_ID, OTHER_ADMIN_ID, startStack, type Stack } from '../test/support/stack';
import { textMessage } from '../test/support/telegram-updates';

const OUT = path.resolve(__dirname, '..', 'test', 'support', 'histories');
const VERSION = process.argv[2] ?? '';
/** `monitoring`, `handed-back` or `disk`: only that scenario (for a release that changed nothing else). */
const ONLY = process.argv[3];
if (!/^v\d+$/.test(VERSION) || (ONLY !== undefined && !['monitoring', 'handed-back', 'disk'].includes(ONLY))) {
  console.error(
    'usage: npm run histories:record -- <version> [monitoring|handed-back|disk]   (v3, v4, ...: the release whose code this is; older files are kept)',
  );
  process.exit(2);
}
const admin = { id: 'script:record-histories', name: 'the recording script' };

function keyOf(url: string): string {
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error(url);
  return contentKeyFor(parsed.url, 'video');
}

/** Writes the history of `workflowId` as the Temporal CLI exports it (waiting for it to close unless `open`). */
async function save(stack: Stack, name: string, workflowId: string, open = false): Promise<void> {
  await (open ? exists(stack, workflowId) : ended(stack, workflowId));
  const json = execFileSync(
    resolveTemporalCli(),
    ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', stack.temporal.address],
    {
      encoding: 'utf8',
    },
  );
  fs.writeFileSync(path.join(OUT, `${VERSION}-${name}.json`), json);
  console.log(`${VERSION}-${name}.json: ${JSON.parse(json).events.length} events`);
}

function sendLink(stack: Stack, url: string, userId = ADMIN_ID): void {
  stack.telegram.pushUpdate(textMessage({ userId, text: url }));
}

async function partway(stack: Stack, url: string, bytes = 10_000): Promise<void> {
  const route = new URL(url).pathname;
  await eventually(() => (stack.media.bytesServed.get(route) ?? 0) > bytes, 60_000, `part of ${route}`);
}

/** Waits for `workflowId` to exist and to end. */
async function ended(stack: Stack, workflowId: string): Promise<void> {
  await exists(stack, workflowId);
  await stack.client.workflow
    .getHandle(workflowId)
    .result()
    .catch(() => undefined);
}

/** Waits for `workflowId` to exist (the bot starts it a moment after the message). */
async function exists(stack: Stack, workflowId: string): Promise<void> {
  const handle = stack.client.workflow.getHandle(workflowId);
  await eventuallyAsync(
    () =>
      handle.describe().then(
        () => true,
        () => false,
      ),
    30_000,
    `${workflowId} to exist`,
  );
}

/** An alert raised and one recovered (delivered on Telegram), and both housekeeping workflows as their schedules run them. */
async function recordMonitoring(): Promise<void> {
  const stack = await startStack({ MAX_RETRIES: '2' }, { alerts: true });
  try {
    // Two different downloads failing: one link failing on every retry does not raise an alert.
    for (const name of ['broken', 'also-broken']) {
      const broken = stack.media.route(`/record/${name}.mp4`, { failFirst: 1_000, failStatus: 503 });
      sendLink(stack, broken);
      await ended(stack, downloadWorkflowId(keyOf(broken)));
      await stack.journal.flush();
    }
    const incident = await stack.database.db.monitorIncident.findFirstOrThrow({ where: { downloader: 'generic' } });
    await save(stack, 'monitor-alert-raised', `monitor-alert-${incident.id}-raised`);
    const fixed = stack.media.route('/record/fixed.mp4');
    sendLink(stack, fixed);
    await ended(stack, downloadWorkflowId(keyOf(fixed)));
    await stack.journal.flush();
    await save(stack, 'monitor-alert-recovered', `monitor-alert-${incident.id}-recovered`);
    await ensureSchedules(stack.client, stack.config.TASK_QUEUE, { info: () => undefined } as never);
    for (const [scheduleId, name] of [
      ['monitor-prune-attempts', 'monitor-prune-attempts'],
      ['monitor-close-stale-incidents', 'monitor-close-stale-incidents'],
    ] as const) {
      const handle = stack.client.schedule.getHandle(scheduleId);
      await handle.trigger();
      let workflowId = '';
      await eventuallyAsync(
        async () => {
          workflowId = (await handle.describe()).info.recentActions.at(-1)?.action.workflow.workflowId ?? '';
          return workflowId !== '';
        },
        30_000,
        `${scheduleId} to run`,
      );
      await save(stack, name, workflowId);
      await handle.delete();
    }
  } finally {
    await stack.stop();
  }
}

/**
 * A download whose worker is drained mid-file: it is handed back (WorkerShutdown,
 * not retried by Temporal) and the workflow runs the step again on the second worker.
 */
async function recordHandedBack(): Promise<void> {
  const stack = await startStack({ HEARTBEAT_TIMEOUT_SECONDS: '10', MAX_RETRIES: '0' });
  try {
    const url = stack.media.route('/record/handed-back.mp4', { bytesPerSecond: 1_000 });
    sendLink(stack, url);
    await partway(stack, url, 3_000);
    await stack.addWorker();
    await stack.firstWorker.stop();
    stack.media.route('/record/handed-back.mp4', { bytesPerSecond: 50_000 });
    await save(stack, 'handed-back', downloadWorkflowId(keyOf(url)));
  } finally {
    await stack.stop();
  }
}

/** A disk without room, then with room: the download waits (waiting_for_disk), then runs its step again and completes. */
async function recordWaitedThenDownloaded(): Promise<void> {
  const stack = await startStack({ MIN_DISK_SPACE_GB: '1000000', DISK_RECHECK_SECONDS: '0.5' });
  try {
    const url = stack.media.route('/record/disk-freed.mp4');
    sendLink(stack, url);
    await eventuallyAsync(
      async () => {
        const view = await stack.downloads.describe(keyOf(url));
        return view.ok && view.state === 'waiting_for_disk';
      },
      30_000,
      'the download to wait for disk',
    );
    // Space frees up: a worker that needs no more than there is takes over the recheck.
    stack.config.MIN_DISK_SPACE_GB = 0;
    await stack.firstWorker.stop();
    await stack.addWorker();
    await save(stack, 'waited-then-downloaded', downloadWorkflowId(keyOf(url)));
  } finally {
    await stack.stop();
  }
}

/**
 * A disk that fills up during the download: a small tmpfs (this needs root) is
 * filled to the brim, yt-dlp fails with "No space left on device" (DiskFull),
 * the workflow goes back to the disk, the filler is removed, and the next round
 * completes.
 */
async function recordDiskFilledUp(): Promise<void> {
  const dir = fs.mkdtempSync(path.join('/var/tmp', 'mediadl-record-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
  try {
    const filler = path.join(dir, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops with an error when the disk is full: that is the point.
    }
    const stack = await startStack({ DOWNLOAD_DIR: dir, MAX_RETRIES: '0' });
    try {
      const url = stack.media.route('/record/fills-disk.mp4');
      sendLink(stack, url);
      // The round is over in a moment: its failure in the history says it happened.
      await eventuallyAsync(
        async () => {
          const history = await stack.client.workflow
            .getHandle(downloadWorkflowId(keyOf(url)))
            .fetchHistory()
            .catch(() => ({ events: [] }));
          return (history.events ?? []).some(
            (e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type === 'DiskFull',
          );
        },
        30_000,
        'the download to find the disk full',
      );
      fs.rmSync(filler);
      await save(stack, 'disk-filled-up', downloadWorkflowId(keyOf(url)));
    } finally {
      await stack.stop();
    }
  } finally {
    execFileSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (ONLY === 'disk') {
    await recordWaitedThenDownloaded();
    return recordDiskFilledUp();
  }
  if (ONLY !== 'handed-back') await recordMonitoring();
  if (ONLY === 'monitoring') return;
  await recordHandedBack();
  if (ONLY === 'handed-back') return;
  const stack = await startStack({ MAX_CONCURRENT: '2', HEARTBEAT_TIMEOUT_SECONDS: '10', PLAYLIST_PARALLEL: '2', SOCKET_TIMEOUT: '30' });
  try {
    const completed = stack.media.route('/record/completed.mp4');
    sendLink(stack, completed);
    await save(stack, 'completed', downloadWorkflowId(keyOf(completed)));

    const retried = stack.media.route('/record/retried.mp4', { failFirst: 2, failStatus: 503 });
    sendLink(stack, retried);
    await save(stack, 'retried', downloadWorkflowId(keyOf(retried)));

    const joined = stack.media.route('/record/joined.mp4', { delayMs: 2_000 });
    sendLink(stack, joined);
    await new Promise((r) => setTimeout(r, 1_000));
    sendLink(stack, joined, OTHER_ADMIN_ID);
    await save(stack, 'joined', downloadWorkflowId(keyOf(joined)));

    const pausedOne = stack.media.route('/record/paused.mp4', { bytesPerSecond: 6_000 });
    sendLink(stack, pausedOne);
    await partway(stack, pausedOne);
    const id = keyOf(pausedOne);
    console.log('pause:', JSON.stringify(await stack.downloads.pause(id, admin)));
    await new Promise((r) => setTimeout(r, 1_000));
    stack.media.route('/record/paused.mp4', { bytesPerSecond: 30_000 });
    console.log('resume:', JSON.stringify(await stack.downloads.resume(id, admin)));
    await save(stack, 'paused-and-resumed', downloadWorkflowId(id));

    const pausedAll = stack.media.route('/record/paused-all.mp4', { bytesPerSecond: 6_000 });
    sendLink(stack, pausedAll);
    await partway(stack, pausedAll);
    console.log('pause all:', JSON.stringify(await stack.downloads.pauseAll(admin)));
    await new Promise((r) => setTimeout(r, 2_000));
    stack.media.route('/record/paused-all.mp4', { bytesPerSecond: 30_000 });
    console.log('resume all:', JSON.stringify(await stack.downloads.resumeAll(admin)));
    await save(stack, 'paused-and-resumed-globally', downloadWorkflowId(keyOf(pausedAll)));

    // A link sent while everything is paused: its first step's look (or, if that is out of date, the control workflow) says so, and it waits.
    console.log('pause all:', JSON.stringify(await stack.downloads.pauseAll(admin)));
    const sentPaused = stack.media.route('/record/sent-while-paused.mp4');
    sendLink(stack, sentPaused);
    await eventuallyAsync(
      async () => {
        const view = await stack.downloads.describe(keyOf(sentPaused));
        return view.ok && view.state === 'paused';
      },
      30_000,
      'the link sent while paused to wait paused',
    );
    console.log('resume all:', JSON.stringify(await stack.downloads.resumeAll(admin)));
    await save(stack, 'sent-while-paused', downloadWorkflowId(keyOf(sentPaused)));

    const cancelled = stack.media.route('/record/cancelled.mp4', { bytesPerSecond: 6_000 });
    sendLink(stack, cancelled);
    sendLink(stack, cancelled, OTHER_ADMIN_ID);
    await partway(stack, cancelled);
    console.log('cancel:', JSON.stringify(await stack.downloads.cancel(keyOf(cancelled), admin)));
    await save(stack, 'cancelled', downloadWorkflowId(keyOf(cancelled)));

    const missing = stack.media.route('/record/missing.mp4', { status: 404 });
    sendLink(stack, missing);
    await save(stack, 'failed-permanently', downloadWorkflowId(keyOf(missing)));

    // A low history limit, so pausing a few times makes the download continue as new.
    const limited = new DownloadsClient(stack.client, {
      ...downloadsSettings(stack.config),
      policy: { ...downloadsSettings(stack.config).policy, historyLimit: 40 },
    });
    const often = stack.media.route('/record/continued.mp4', { bytesPerSecond: 6_000 });
    const oftenKey = keyOf(often);
    const parsed = parseMediaUrl(often);
    if (!parsed.ok) throw new Error(often);
    await limited.startOrJoin({
      contentKey: oftenKey,
      url: parsed.url,
      mode: 'video',
      correlationId: 'record',
      subscriber: { chatId: ADMIN_ID, userId: ADMIN_ID, messageId: 1, correlationId: 'record' },
    });
    const handle = stack.client.workflow.getHandle(downloadWorkflowId(oftenKey));
    const firstRun = (await handle.describe()).runId;
    for (let i = 0; i < 10 && (await handle.describe()).runId === firstRun; i++) {
      await partway(stack, often);
      console.log('pause:', JSON.stringify(await limited.pause(oftenKey, admin)));
      console.log('resume:', JSON.stringify(await limited.resume(oftenKey, admin)));
    }
    const runs = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${downloadWorkflowId(oftenKey)}'` })) runs.push(run.runId);
    await handle.result();
    for (const [i, runId] of [...runs].reverse().entries())
      await saveRun(stack, `continued-as-new-run${i + 1}`, downloadWorkflowId(oftenKey), runId);

    // A feed becomes a playlist: the first run is a download that continues as new into the playlist workflow.
    const entries = [1, 2, 3].map((n) => stack.media.route(`/record/feed-${n}.mp4`));
    const feedUrl = stack.media.page('/record/feed.rss', feed('Recorded Show', entries), 'application/rss+xml');
    sendLink(stack, feedUrl);
    await saveAllRuns(stack, 'playlist', downloadWorkflowId(keyOf(feedUrl)));
    await save(stack, 'playlist-entry', downloadWorkflowId(keyOf(entries[0]!)));

    // A playlist paused, resumed and cancelled while its entries download.
    const slow = [1, 2, 3].map((n) => stack.media.route(`/record/slow-feed-${n}.mp4`, { bytesPerSecond: 6_000 }));
    const slowFeed = stack.media.page('/record/slow-feed.rss', feed('Slow Show', slow), 'application/rss+xml');
    sendLink(stack, slowFeed);
    await partway(stack, slow[0]!);
    console.log('pause playlist:', JSON.stringify(await stack.downloads.pause(keyOf(slowFeed), admin)));
    console.log('resume playlist:', JSON.stringify(await stack.downloads.resume(keyOf(slowFeed), admin)));
    console.log('cancel playlist:', JSON.stringify(await stack.downloads.cancel(keyOf(slowFeed), admin)));
    await saveAllRuns(stack, 'playlist-cancelled', downloadWorkflowId(keyOf(slowFeed)));
    await save(stack, 'playlist-entry-released', downloadWorkflowId(keyOf(slow[0]!)));

    // A playlist with a low history limit hands its state to new runs.
    const many = Array.from({ length: 12 }, (_, n) => stack.media.route(`/record/many-${n}.mp4`));
    const manyFeed = stack.media.page('/record/many.rss', feed('Many Show', many), 'application/rss+xml');
    const manyParsed = parseMediaUrl(manyFeed);
    if (!manyParsed.ok) throw new Error(manyFeed);
    const lowLimit = new DownloadsClient(stack.client, {
      ...downloadsSettings(stack.config),
      policy: { ...downloadsSettings(stack.config).policy, historyLimit: 40, playlistParallel: 3 },
    });
    await lowLimit.startOrJoin({
      contentKey: keyOf(manyFeed),
      url: manyParsed.url,
      mode: 'video',
      correlationId: 'record-many',
      subscriber: { chatId: ADMIN_ID, userId: ADMIN_ID, messageId: 2, correlationId: 'record-many' },
    });
    await saveAllRuns(stack, 'playlist-continued', downloadWorkflowId(keyOf(manyFeed)));

    // A feed inside a feed: the inner one, met as an entry, fails as "not expanded".
    const deep = stack.media.route('/record/deep.mp4');
    const innerFeed = stack.media.page('/record/inner.rss', feed('Inner Show', [deep]), 'application/rss+xml');
    const outerFeed = stack.media.page(
      '/record/outer.rss',
      feed('Outer Show', [stack.media.route('/record/outer-1.mp4'), innerFeed]),
      'application/rss+xml',
    );
    sendLink(stack, outerFeed);
    await saveAllRuns(stack, 'playlist-nested', downloadWorkflowId(keyOf(outerFeed)));
    await save(stack, 'playlist-nested-entry', downloadWorkflowId(keyOf(innerFeed)));

    // A playlist cancelled while its listing waits on a slow feed.
    const lateFile = path.join(stack.media.dir, 'late.rss');
    fs.writeFileSync(lateFile, feed('Late Show', [stack.media.route('/record/late-1.mp4')]));
    const lateFeed = stack.media.route('/record/late.rss', { file: lateFile, contentType: 'application/rss+xml', delayMs: 4_000 });
    sendLink(stack, lateFeed);
    await eventually(() => stack.media.count('/record/late.rss') >= 2, 60_000, 'the listing to ask for the slow feed');
    console.log('cancel while listing:', JSON.stringify(await stack.downloads.cancel(keyOf(lateFeed), admin)));
    await saveAllRuns(stack, 'playlist-cancelled-while-listing', downloadWorkflowId(keyOf(lateFeed)));

    await save(stack, 'control', controlWorkflowId(stack.config.TASK_QUEUE), true);
  } finally {
    await stack.stop();
  }

  // A disk that never has room: the download waits (DownloadState=waiting_for_disk), then gives up.
  const full = await startStack({ MIN_DISK_SPACE_GB: '1000000', DISK_RECHECK_SECONDS: '0.5', DISK_WAIT_HOURS: '0.002' });
  try {
    const url = full.media.route('/record/disk.mp4');
    sendLink(full, url);
    await save(full, 'waited-for-disk', downloadWorkflowId(keyOf(url)));
  } finally {
    await full.stop();
  }
  await recordWaitedThenDownloaded();
  await recordDiskFilledUp();
}

/** An RSS feed enclosing the given media links. */
function feed(title: string, urls: string[]): string {
  const items = urls.map((u, i) => `<item><title>${title} ${i + 1}</title><enclosure url="${u}" type="video/mp4" length="1000"/></item>`);
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>${title}</title><link>http://127.0.0.1/</link><description>d</description>${items.join('')}</channel></rss>`;
}

/** Waits for `workflowId` to end, then writes every run of it, first to last (`<name>-run1`, ...). */
async function saveAllRuns(stack: Stack, name: string, workflowId: string): Promise<void> {
  await eventuallyAsync(
    () =>
      stack.client.workflow
        .getHandle(workflowId)
        .describe()
        .then(
          (d) => d.status.name !== 'RUNNING',
          () => false,
        ),
    120_000,
    `${workflowId} to end`,
  );
  await new Promise((r) => setTimeout(r, 2_000)); // visibility lags behind the last run's close
  const runs: string[] = [];
  for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(run.runId);
  for (const [i, runId] of [...runs].reverse().entries()) await saveRun(stack, `${name}-run${i + 1}`, workflowId, runId);
}

/** Writes the history of one run of `workflowId` (an earlier run of a workflow that continued as new). */
async function saveRun(stack: Stack, name: string, workflowId: string, runId: string): Promise<void> {
  const json = execFileSync(
    resolveTemporalCli(),
    ['workflow', 'show', '--workflow-id', workflowId, '--run-id', runId, '--output', 'json', '--address', stack.temporal.address],
    { encoding: 'utf8' },
  );
  fs.writeFileSync(path.join(OUT, `${VERSION}-${name}.json`), json);
  console.log(`${VERSION}-${name}.json: ${JSON.parse(json).events.length} events`);
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
