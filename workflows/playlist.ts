import {
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DownloadQueueActivities, LightActivities } from '../activities';
import {
  cancelUpdate,
  downloadWorkflowId,
  endedText,
  entryEndedSignal,
  entryOfSignal,
  NESTED_PLAYLIST_MESSAGE,
  pauseUpdate,
  playlistCommandSignal,
  progressQuery,
  resumeUpdate,
  searchAttributes,
  shortId,
  subscribeSignal,
  SUMMARY_FAILURES_SHOWN,
  type Actor,
  type ControlAnswer,
  type DownloadProgressView,
  type DownloadState,
  type EntryStatus,
  type PlaylistCounts,
  type PlaylistEntry,
  type PlaylistInput,
  type PlaylistListing,
  type PlaylistMessage,
  type PlaylistOutcome,
  type Subscriber,
} from '../domain/downloads/definitions';
import { classifiedFailure, notifier, records } from './common';

/** Past this many events a playlist continues as new, carrying its state (tests set it lower through the policy). */
const DEFAULT_HISTORY_LIMIT = 2_000;
/** PLAYLIST_PARALLEL for requests made before the setting existed. */
const DEFAULT_PARALLEL = 20;
/** Without word from its running entries for this long, a playlist asks Temporal how they ended. */
const RECHECK_INTERVAL = '10 minutes';

// Starting entries talks to Temporal itself: retried until it answers.
const starter = proxyActivities<LightActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * A playlist, channel, feed or page of several videos: lists its entries (at
 * most MAX_PLAYLIST_VIDEOS), starts one content-addressed download per entry
 * (joining any already running, so nothing is downloaded twice) with at most
 * PLAYLIST_PARALLEL running, and hears from each when it ends. The people who
 * asked get one message when the entries are queued and one summary at the end.
 * Pause, resume and cancel act on every entry not yet ended.
 */
export async function playlistWorkflow(input: PlaylistInput): Promise<PlaylistOutcome> {
  const { source } = input;
  const self = workflowInfo().workflowId;
  const id = shortId(source.contentKey);
  const parallel = source.policy.playlistParallel ?? DEFAULT_PARALLEL;
  const historyLimit = source.policy.historyLimit ?? DEFAULT_HISTORY_LIMIT;
  // Listing runs yt-dlp on the download task queue; a failure is classified as a download's.
  const lister = proxyActivities<DownloadQueueActivities>({
    taskQueue: source.policy.downloadTaskQueue,
    startToCloseTimeout: '15 minutes',
    heartbeatTimeout: '1 minute',
    retry: {
      initialInterval: source.policy.retryBaseSeconds * 1000,
      backoffCoefficient: 2,
      maximumInterval: Math.max(source.policy.retryMaxSeconds, source.policy.retryBaseSeconds) * 1000,
      maximumAttempts: source.policy.maxRetries + 1,
    },
  });

  const carried = input.carried;
  const requesters: Subscriber[] = [...input.requesters];
  let told = carried?.told ?? 0;
  let pausedBy: Actor | null = input.pausedBy;
  let cancelledBy: Actor | null = null;
  let listing: Omit<PlaylistListing, 'entries'> | null = carried?.listing ?? null;
  let entries: PlaylistEntry[] = carried?.entries ?? [];
  const statuses = new Map<string, EntryStatus>(Object.entries(carried?.statuses ?? {}));
  let outcome: PlaylistOutcome | null = null;
  let state: DownloadState = 'queued';
  // The listing while it runs: a cancel stops it.
  let listingScope: CancellationScope | null = null;
  // Bumped by every handler: the main loop wakes to look again.
  let changes = 0;

  // The run this one continues may have shown another state (the download run it started as).
  let stateShown = false;
  const setState = (next: DownloadState) => {
    if (next === state && stateShown) return;
    stateShown = true;
    state = next;
    upsertSearchAttributes([{ key: searchAttributes.DownloadState, value: next }]);
  };
  const counts = (): PlaylistCounts => {
    const c: PlaylistCounts = {
      title: listing?.title ?? null,
      total: entries.length,
      capped: listing?.capped ?? false,
      pending: 0,
      running: 0,
      completed: 0,
      alreadyHad: 0,
      failed: 0,
      cancelled: 0,
    };
    for (const entry of entries) {
      const status = statuses.get(entry.contentKey) ?? { state: 'pending' };
      if (status.state === 'completed') c[status.fromCache ? 'alreadyHad' : 'completed'] += 1;
      else c[status.state] += 1;
    }
    return c;
  };
  const withState = (wanted: EntryStatus['state']) => entries.filter((e) => statuses.get(e.contentKey)?.state === wanted);
  const longHistory = () => workflowInfo().historyLength > historyLimit || workflowInfo().continueAsNewSuggested;

  /** Sends a command to every entry still running (a failed signal: that entry has ended, and says so itself). */
  const toRunningEntries = async (action: 'pause' | 'resume' | 'release', by: Actor, only?: PlaylistEntry[]) => {
    const targets = (only ?? withState('running')).filter((e) => statuses.get(e.contentKey)?.state === 'running');
    await Promise.all(
      targets.map((e) =>
        getExternalWorkflowHandle(downloadWorkflowId(e.contentKey))
          .signal(playlistCommandSignal, { playlistWorkflowId: self, action, by })
          .catch(() => undefined),
      ),
    );
  };

  setHandler(subscribeSignal, (subscriber) => {
    if (requesters.some((s) => s.chatId === subscriber.chatId && s.messageId === subscriber.messageId)) return;
    requesters.push(subscriber);
    changes += 1;
  });
  // Another playlist lists this one as an entry: it is not expanded there, and is told so at once.
  setHandler(entryOfSignal, ({ playlistWorkflowId }) => {
    getExternalWorkflowHandle(playlistWorkflowId)
      .signal(entryEndedSignal, { contentKey: source.contentKey, status: { state: 'failed', message: NESTED_PLAYLIST_MESSAGE } })
      .catch(() => undefined);
  });
  setHandler(entryEndedSignal, ({ contentKey, status }) => {
    const now = statuses.get(contentKey);
    // Only an entry not yet ended takes the word (a late or repeated signal changes nothing).
    if (!now || (now.state !== 'running' && now.state !== 'pending')) return;
    statuses.set(contentKey, status);
    changes += 1;
  });
  setHandler(progressQuery, (): DownloadProgressView => ({
    state,
    subscribers: requesters.length,
    paused: pausedBy !== null,
    pausedBy,
    globalPaused: false,
    cancelledBy,
    finished: outcome !== null,
    playlist: counts(),
  }));
  const refuseIfEnded = () => {
    if (cancelledBy) throw new Error(`${endedText('cancelled')} (by ${cancelledBy.name})`);
    if (outcome) throw new Error(endedText(state));
  };
  setHandler(
    pauseUpdate,
    async ({ by }): Promise<ControlAnswer> => {
      pausedBy = by;
      changes += 1;
      await toRunningEntries('pause', by);
      const c = counts();
      return {
        state: 'paused',
        message: `paused: ${c.running} running entries told to stop (partial files kept), ${c.pending} not started yet`,
      };
    },
    {
      validator: (_request: { by: Actor }) => {
        refuseIfEnded();
        if (pausedBy) throw new Error(`it is already paused (by ${pausedBy.name})`);
      },
    },
  );
  setHandler(
    resumeUpdate,
    async ({ by }): Promise<ControlAnswer> => {
      const pauser = pausedBy;
      pausedBy = null;
      changes += 1;
      // Entries carry the pause under the name of whoever paused the playlist.
      if (pauser) await toRunningEntries('resume', pauser);
      log.info('playlist resumed', { by: by.id });
      const c = counts();
      return { state: 'queued', message: `resumed: ${c.running} entries continue, ${c.pending} still to start` };
    },
    {
      validator: (_request: { by: Actor }) => {
        refuseIfEnded();
        if (!pausedBy) throw new Error('it is not paused');
      },
    },
  );
  setHandler(
    cancelUpdate,
    async ({ by }): Promise<ControlAnswer> => {
      cancelledBy = by;
      changes += 1;
      // Listing can take minutes: it stops, and the playlist ends without queueing anything.
      listingScope?.cancel();
      await condition(() => outcome !== null);
      return {
        state: 'cancelled',
        message:
          entries.length === 0
            ? 'cancelled before its entries were listed; nothing was queued'
            : 'cancelled: entries nobody else asked for are stopped and their partial files removed',
      };
    },
    { validator: (_request: { by: Actor }) => refuseIfEnded() },
  );

  let cancelledByTemporal: unknown = null;
  try {
    if (!listing) {
      setState('queued');
      listingScope = new CancellationScope();
      try {
        const listed = await listingScope.run(() => lister.listPlaylist(source));
        listing = { title: listed.title, folder: listed.folder, capped: listed.capped, skipped: listed.skipped };
        entries = listed.entries;
        for (const entry of entries) statuses.set(entry.contentKey, { state: 'pending' });
      } catch (err) {
        // Our own cancel stopped the listing; an operator's cancel of the whole workflow goes on up.
        if (isCancellation(err) && !(cancelledBy && !CancellationScope.current().consideredCancelled)) throw err;
        if (!cancelledBy) outcome = { status: 'failed', counts: counts(), message: listingFailure(err) };
      } finally {
        listingScope = null;
      }
    }
    if (!outcome) outcome = cancelledBy ? { status: 'cancelled', counts: counts() } : await runEntries();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled through Temporal itself (an operator's `temporal workflow cancel`).
    cancelledByTemporal = err;
    cancelledBy = { id: 'temporal', name: 'an operator (Temporal cancel)' };
    outcome = { status: 'cancelled', counts: counts() };
  }

  const ended = outcome;
  await CancellationScope.nonCancellable(async () => {
    if (ended.status === 'cancelled' && cancelledBy) await toRunningEntries('release', cancelledBy);
    for (const entry of [...withState('pending'), ...(ended.status === 'cancelled' ? withState('running') : [])])
      statuses.set(entry.contentKey, { state: 'cancelled' });
    const final: PlaylistOutcome = { ...ended, counts: counts() };
    outcome = final;
    setState(final.status);
    await records.recordPlaylist(source, {
      state: final.status,
      title: listing?.title ?? null,
      ...(final.message ? { error: final.message } : {}),
    });
    // Whoever asks while the summary goes out is told too.
    let summarized = 0;
    while (summarized < requesters.length) {
      const batch = requesters.slice(summarized);
      summarized = requesters.length;
      await Promise.all(batch.map((s) => tell(s, summary(final))));
    }
  });
  await condition(allHandlersFinished);
  if (cancelledByTemporal) throw cancelledByTemporal;
  return outcome;

  async function tell(subscriber: Subscriber, message: PlaylistMessage): Promise<void> {
    await notifier.notifyPlaylist(subscriber, message).catch((err: unknown) => {
      log.warn('could not tell a playlist requester', { chatId: subscriber.chatId, error: String(err) });
    });
  }

  function summary(final: PlaylistOutcome): PlaylistMessage {
    const failures = entries
      .map((e) => ({ entry: e, status: statuses.get(e.contentKey) }))
      .filter((x): x is { entry: PlaylistEntry; status: { state: 'failed'; message: string } } => x.status?.state === 'failed')
      .slice(0, SUMMARY_FAILURES_SHOWN)
      .map(({ entry, status }) => ({ name: entry.title ?? entry.url, reason: status.message }));
    return {
      kind: 'ended',
      id,
      title: listing?.title ?? null,
      counts: final.counts,
      folder: listing?.folder ?? '',
      failures,
      ...(final.status === 'cancelled' && cancelledBy ? { cancelledBy } : {}),
      ...(final.status === 'failed' && final.message ? { error: final.message } : {}),
    };
  }

  /** Tells requesters not yet told that the entries are queued. */
  async function tellQueued(): Promise<void> {
    if (!listing || told >= requesters.length) return;
    const batch = requesters.slice(told);
    told = requesters.length;
    const message: PlaylistMessage = {
      kind: 'queued',
      id,
      title: listing.title,
      total: entries.length,
      capped: listing.capped,
      skipped: listing.skipped,
      folder: listing.folder,
    };
    await Promise.all(batch.map((s) => tell(s, message)));
  }

  async function runEntries(): Promise<PlaylistOutcome> {
    if (!carried) await records.recordPlaylist(source, { state: 'downloading', title: listing?.title ?? null });
    for (;;) {
      await tellQueued();
      if (cancelledBy) return { status: 'cancelled', counts: counts() };
      const pending = withState('pending');
      const running = withState('running');
      if (pending.length === 0 && running.length === 0) return { status: 'completed', counts: counts() };
      if (longHistory()) {
        await handOver();
        continue;
      }

      if (pausedBy) {
        setState('paused');
        const seen = changes;
        await condition(() => changes !== seen || longHistory());
        continue;
      }
      setState('downloading');
      // Entries start in batches (a quarter of PLAYLIST_PARALLEL, or what is left):
      // one activity per batch instead of one per entry keeps the history short.
      const slots = parallel - running.length;
      const batch = Math.min(pending.length, Math.max(1, Math.floor(parallel / 4)));
      if (pending.length > 0 && (slots >= batch || (slots > 0 && running.length === 0))) {
        await start(pending.slice(0, slots));
        continue;
      }
      const seen = changes;
      if (!(await condition(() => changes !== seen || longHistory(), RECHECK_INTERVAL))) await recheck();
    }
  }

  async function start(batch: PlaylistEntry[]): Promise<void> {
    for (const entry of batch) statuses.set(entry.contentKey, { state: 'running' });
    // Not cancellable: entries being started when an operator cancels the playlist are started
    // (and then released below), never left running behind a playlist that no longer waits.
    const results = await CancellationScope.nonCancellable(() =>
      starter.startPlaylistEntries({
        playlistWorkflowId: self,
        source,
        folder: listing?.folder ?? '',
        entries: batch,
        requestedBy: requesters[0]?.userId ?? null,
      }),
    );
    for (const result of results) {
      if (result.started === 'had' && statuses.get(result.contentKey)?.state === 'running')
        statuses.set(result.contentKey, { state: 'completed', fromCache: true });
    }
    const count = (kind: string) => results.filter((r) => r.started === kind).length;
    log.info('playlist entries started', { started: count('started'), joined: count('joined'), alreadyHad: count('had') });
    // A pause or cancel that came while these were starting did not reach them.
    if (cancelledBy) await toRunningEntries('release', cancelledBy, batch);
    else if (pausedBy) await toRunningEntries('pause', pausedBy, batch);
  }

  /** Asks Temporal how running entries that never reported have ended. */
  async function recheck(): Promise<void> {
    const keys = withState('running').map((e) => e.contentKey);
    if (keys.length === 0) return;
    const found = await starter.checkPlaylistEntries(keys);
    for (const [key, status] of Object.entries(found)) {
      if (status && statuses.get(key)?.state === 'running') statuses.set(key, status);
    }
  }

  /** Hands a long history to a fresh run, state carried; a cancel that comes meanwhile is served first. */
  async function handOver(): Promise<void> {
    await condition(() => allHandlersFinished() || cancelledBy !== null);
    if (cancelledBy) return;
    await continueAsNew<typeof playlistWorkflow>({
      ...input,
      requesters,
      pausedBy,
      carried: {
        listing: listing!,
        entries,
        statuses: Object.fromEntries(statuses),
        told,
        startedAt: carried?.startedAt ?? workflowInfo().startTime.getTime(),
      },
    });
  }
}

/** Why listing failed, in the words of the failure's kind. */
function listingFailure(err: unknown): string {
  return classifiedFailure(err)?.message ?? 'its entries could not be listed';
}
