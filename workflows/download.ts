import {
  ActivityCancellationType,
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { TimeoutType, type SearchAttributeUpdatePair } from '@temporalio/common';
import type { DownloadQueueActivities } from '../activities';
import { classifiedFailure, notifier, records } from './common';
import {
  cancelUpdate,
  controlWorkflowId,
  downloadStartedSignal,
  endedText,
  entryEndedSignal,
  entryOfSignal,
  entryStatusOf,
  NESTED_PLAYLIST_MESSAGE,
  globalPauseSignal,
  pauseUpdate,
  playlistActor,
  playlistCommandSignal,
  PLAYLIST_WORKFLOW_TYPE,
  progressQuery,
  registerSignal,
  resumeUpdate,
  searchAttributes,
  subscribeSignal,
  unregisterSignal,
  type Actor,
  type CarriedDownloadState,
  type ControlAnswer,
  type DownloadInput,
  type DownloadOutcome,
  type DownloadPolicy,
  type DownloadProgressView,
  type DownloadState,
  type PlaylistInput,
  type Subscriber,
} from '../domain/downloads/definitions';
import { DISK_LOW, ERROR_KINDS } from '../domain/downloads/errors';

/** How many times a disk that filled up mid-download sends us back to wait for space. */
const MAX_DISK_FULL_ROUNDS = 20;
/** Past this many events a paused download continues as new (carrying its state), so pausing often costs nothing. */
const DEFAULT_HISTORY_LIMIT = 2_000;
/** How long a new download waits for the control workflow to say whether everything is paused. */
const CONTROL_ANSWER_TIMEOUT = '30 seconds';
/**
 * Downloads started before pause/resume/cancel existed replay without it: they
 * neither register with the control workflow nor answer its signals' commands.
 */
export const CONTROL_PATCH = 'downloads-control-v1';
/**
 * Downloads started under the first control code keep its order of steps: they
 * tell people before unregistering, and count only a cancellation of the
 * interrupted step as the interruption.
 */
export const CONTROL_FIXES_PATCH = 'downloads-control-v2';
/**
 * A link yt-dlp reports as a playlist continues as new into the playlist
 * workflow; downloads started before playlists existed fail with "a playlist".
 */
export const PLAYLIST_PATCH = 'downloads-playlists-v1';
/**
 * Fewer round trips per download: registering with the control workflow and the
 * dedup look-up run together, and unregistering runs beside recording and
 * telling people. Downloads started earlier keep their steps.
 */
export const LEAN_PATCH = 'downloads-lean-v1';
/**
 * The Web UI reads better: the chats that asked, why it failed and which
 * downloader ran it become search attributes, and the title goes to the memo.
 * Downloads started earlier keep their commands as they were.
 */
export const UI_PATCH = 'downloads-ui-v1';
/**
 * A worker that stops (drained, redeployed) hands its running download back
 * without spending an attempt: the attempt fails as WorkerShutdown, which is
 * not retried by Temporal, and the workflow runs the step again with fresh
 * attempts (on another worker, from the partial file). Downloads started
 * earlier retry it as before (it costs them an attempt).
 */
export const SHUTDOWN_PATCH = 'downloads-shutdown-v1';
/**
 * Fewer workflow tasks per download: dedup and the registration with the
 * control workflow are one activity (answered by a signal back only when the
 * global pause it assumed is wrong), the quick disk check runs inside the download step, and recording the
 * result, unregistering and telling playlists are one activity. A small
 * download then takes five workflow tasks instead of eight or nine, which is
 * what bounds how fast a playlist's entries go through. Downloads started
 * earlier keep their steps.
 */
export const LEAN2_PATCH = 'downloads-lean-v2';
/** The failure type the download activity throws when its worker stops under it. */
export const WORKER_SHUTDOWN = 'WorkerShutdown';
/** Hand-backs one download takes before a shutdown counts as a failure (a worker crashing in a loop). */
const MAX_HAND_BACKS = 50;

function activitiesFor(policy: DownloadPolicy, handBack: boolean, lean2: boolean) {
  // One quick look first, so the workflow knows (and operators see) when it waits.
  // Low disk is its answer, not a failure to retry; a lost worker is retried.
  const diskNow = proxyActivities<DownloadQueueActivities>({
    summary: 'Check free disk space',
    taskQueue: policy.downloadTaskQueue,
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: [DISK_LOW] },
  });
  // Low disk fails the check retryably; Temporal re-runs it on a long interval
  // until space frees up or the wait limit passes.
  const disk = proxyActivities<DownloadQueueActivities>({
    summary: 'Wait for free disk space (rechecked with backoff)',
    taskQueue: policy.downloadTaskQueue,
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: policy.diskWaitHours * 3_600_000,
    retry: {
      initialInterval: policy.diskRecheckSeconds * 1000,
      backoffCoefficient: 2,
      maximumInterval: policy.diskRecheckSeconds * 10_000,
    },
  });
  const downloader = proxyActivities<DownloadQueueActivities>({
    summary: 'Download the file (yt-dlp or the direct source); progress in the heartbeat',
    taskQueue: policy.downloadTaskQueue,
    startToCloseTimeout: policy.downloadTimeoutMinutes * 60_000,
    heartbeatTimeout: policy.heartbeatTimeoutSeconds * 1000,
    // A cancelled (or paused) download is over only when yt-dlp has stopped: a new
    // attempt must not start a second writer on the same partial file.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: policy.retryBaseSeconds * 1000,
      backoffCoefficient: 2,
      maximumInterval: Math.max(policy.retryMaxSeconds, policy.retryBaseSeconds) * 1000,
      maximumAttempts: policy.maxRetries + 1,
      // A full disk goes back to the disk check instead of spending attempts; a worker
      // that stops hands the download back to this workflow (SHUTDOWN_PATCH); low disk
      // before the download (LEAN2_PATCH: the check runs in this step) goes to wait for space.
      nonRetryableErrorTypes: ['DiskFull', ...(handBack ? [WORKER_SHUTDOWN] : []), ...(lean2 ? [DISK_LOW] : [])],
    },
  });
  return { records, notifier, diskNow, disk, downloader };
}

/** What the Web UI can filter an ended download by: why it failed, and the downloader that ran it. */
function endedAttributes(outcome: DownloadOutcome): SearchAttributeUpdatePair[] {
  const downloader = outcome.status === 'cancelled' ? undefined : outcome.downloader;
  return [
    ...(outcome.status === 'failed' ? [{ key: searchAttributes.ErrorKind, value: outcome.errorKind }] : []),
    ...(downloader ? [{ key: searchAttributes.Downloader, value: downloader }] : []),
  ];
}

/** Turns an activity failure into the reason users and the record see. */
function describeFailure(
  err: unknown,
  step: 'disk' | 'download',
  policy: DownloadPolicy,
): { errorKind: string; message: string; downloader?: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  // When the wait for space runs out, Temporal reports the check's last failure (DiskLow),
  // or a schedule-to-close timeout; any other timeout is a lost worker, not a full disk.
  const diskWaitOver =
    step === 'disk' &&
    ((cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_CLOSE) ||
      (cause instanceof ApplicationFailure && cause.type === DISK_LOW));
  if (diskWaitOver) return { errorKind: 'DiskFull', message: `the download disk stayed full for ${policy.diskWaitHours} hours` };
  if (cause instanceof TimeoutFailure) return { errorKind: 'Timeout', message: 'the download stopped making progress or took too long' };
  const described = classifiedFailure(cause) ?? { errorKind: 'Unknown', message: ERROR_KINDS.Unknown.message };
  // The download activity names the downloader of the attempt in the failure's details.
  const downloader =
    cause instanceof ApplicationFailure ? (cause.details?.[0] as { downloader?: unknown } | undefined)?.downloader : undefined;
  return typeof downloader === 'string' ? { ...described, downloader } : described;
}

/**
 * Everything one download knows about itself, with the transitions people
 * cause (pause, resume, cancel, subscribe) named in one place.
 */
class DownloadControl {
  state: DownloadState = 'queued';
  readonly subscribers: Subscriber[];
  /** Subscribers not yet told how it ended. */
  readonly unnotified: Subscriber[];
  pausedBy: Actor | null;
  globalPaused: boolean;
  globalPausedBy: Actor | null = null;
  cancelledBy: Actor | null = null;
  /** The control workflow has told us whether everything is paused (by a signal). */
  controlAnswered = false;
  /** How it ended, once decided (then it only records and tells people). */
  outcome: DownloadOutcome | null = null;
  /** The download step has run at least once: a partial file may exist. */
  downloadBegan = false;
  /** The download step is scheduled or running (LEAN2_PATCH: its downloadStarted signal counts only then). */
  inDownloadStep = false;
  /** The step running now, and whether pause or cancel asked it to stop. */
  running: { scope: CancellationScope; interrupted: boolean } | null = null;
  /** Playlists (workflow IDs) this download is an entry of, and those not yet told how it ended. */
  readonly playlists: Set<string>;
  readonly untoldPlaylists: string[];

  constructor(carried: CarriedDownloadState | undefined) {
    this.subscribers = [...(carried?.subscribers ?? [])];
    this.unnotified = [...(carried?.subscribers ?? [])];
    this.pausedBy = carried?.pausedBy ?? null;
    this.globalPaused = carried?.globalPaused ?? false;
    this.globalPausedBy = carried?.globalPausedBy ?? null;
    this.downloadBegan = carried !== undefined;
    this.playlists = new Set(carried?.playlists ?? []);
    this.untoldPlaylists = [...this.playlists];
  }

  get finished(): boolean {
    return this.outcome !== null;
  }

  get paused(): boolean {
    return this.pausedBy !== null || this.globalPaused;
  }

  /** The running step must stop: paused, or cancelled for good. */
  get mustStop(): boolean {
    return this.paused || this.cancelledBy !== null;
  }

  /** Whether this run keeps the Web UI's extra attributes (UI_PATCH), decided once where it is first needed. */
  private ui: boolean | null = null;
  get uiAttributes(): boolean {
    this.ui ??= patched(UI_PATCH);
    return this.ui;
  }

  setState(next: DownloadState, also: SearchAttributeUpdatePair[] = []): void {
    this.state = next;
    upsertSearchAttributes([{ key: searchAttributes.DownloadState, value: next }, ...also]);
  }

  subscribe(subscriber: Subscriber): void {
    if (this.subscribers.some((s) => s.chatId === subscriber.chatId && s.messageId === subscriber.messageId)) return;
    this.liftPlaylistPause();
    this.subscribers.push(subscriber);
    this.unnotified.push(subscriber);
    // A keyword list holds at most 2 KB: the first requesters are enough to find a download by.
    const requestedBy = [...new Set(this.subscribers.map((s) => String(s.userId)))].slice(0, MAX_REQUESTED_BY);
    const chats = [...new Set(this.subscribers.map((s) => String(s.chatId)))].slice(0, MAX_REQUESTED_BY);
    upsertSearchAttributes([
      { key: searchAttributes.RequestedBy, value: requestedBy },
      ...(this.uiAttributes ? [{ key: searchAttributes.ChatId, value: chats }] : []),
    ]);
  }

  joinPlaylist(playlistWorkflowId: string): void {
    if (this.playlists.has(playlistWorkflowId)) return;
    this.liftPlaylistPause();
    this.playlists.add(playlistWorkflowId);
    this.untoldPlaylists.push(playlistWorkflowId);
  }

  /**
   * A playlist's command for its entries. Its pause holds the download under the
   * playlist's name (so its resume lifts only that); its release cancels the
   * download unless a person or another playlist still wants it.
   */
  playlistCommand(playlistWorkflowId: string, action: 'pause' | 'resume' | 'release', by: Actor): void {
    // Only a playlist this download is an entry of (of this run) may command it.
    if (this.finished || this.cancelledBy || !this.playlists.has(playlistWorkflowId)) return;
    const actor = playlistActor(playlistWorkflowId, by);
    if (action === 'pause') {
      // A playlist's pause holds only an entry nobody else wants: a person, or another playlist.
      if (this.pausedBy || !this.onlyWantedBy(playlistWorkflowId)) return;
      this.pausedBy = actor;
      this.interrupt();
    } else if (action === 'resume') {
      if (this.pausedBy?.id === actor.id) this.pausedBy = null;
    } else {
      if (this.pausedBy?.id === actor.id) this.pausedBy = null;
      const alone = this.onlyWantedBy(playlistWorkflowId);
      this.playlists.delete(playlistWorkflowId);
      const untold = this.untoldPlaylists.indexOf(playlistWorkflowId);
      if (untold >= 0) this.untoldPlaylists.splice(untold, 1);
      if (!alone) return;
      this.cancelledBy = by;
      this.interrupt();
    }
  }

  /** Nobody but this playlist wants the download. */
  onlyWantedBy(playlistWorkflowId: string): boolean {
    return this.subscribers.length === 0 && this.playlists.size === 1 && this.playlists.has(playlistWorkflowId);
  }

  /** Someone else now wants it: a playlist's pause no longer holds it. */
  liftPlaylistPause(): void {
    if (this.pausedBy?.id.startsWith('playlist:')) this.pausedBy = null;
  }

  /** Stops whatever runs now (yt-dlp within seconds; a queued activity at once). */
  interrupt(): void {
    if (!this.running) return;
    this.running.interrupted = true;
    this.running.scope.cancel();
  }

  view(): DownloadProgressView {
    return {
      state: this.state,
      subscribers: this.subscribers.length,
      paused: this.paused,
      pausedBy: this.pausedBy,
      globalPaused: this.globalPaused,
      cancelledBy: this.cancelledBy,
      finished: this.finished,
    };
  }

  refuseIfEnded(): void {
    if (this.cancelledBy) throw new Error(`${endedText('cancelled')} (by ${this.cancelledBy.name})`);
    if (this.outcome?.status === 'failed' && this.outcome.errorKind === 'Playlist')
      throw new Error('it turned out to be a playlist and its entries are being listed; send the command again in a moment');
    if (this.finished) throw new Error(endedText(this.state));
  }
}

const INTERRUPTED = Symbol('interrupted');

/** Requesters named in the RequestedBy search attribute (a keyword list holds 2 KB). */
const MAX_REQUESTED_BY = 100;

/**
 * One download, from request to notification: dedup, wait for disk space,
 * download (Temporal retries with backoff), record the result, tell everyone
 * who asked. More requests for the same content join through `subscribe`;
 * `pause`, `resume` and `cancel` (updates) and the global pause (a signal from
 * the control workflow) stop and continue it.
 */
export async function downloadWorkflow(input: DownloadInput): Promise<DownloadOutcome> {
  const handBack = patched(SHUTDOWN_PATCH);
  const lean2 = patched(LEAN2_PATCH);
  const { records, notifier, diskNow, disk, downloader } = activitiesFor(input.policy, handBack, lean2);
  const d = new DownloadControl(input.carried);
  const startedAt = input.carried?.startedAt ?? workflowInfo().startTime.getTime();

  setHandler(subscribeSignal, (subscriber) => d.subscribe(subscriber));
  setHandler(entryOfSignal, ({ playlistWorkflowId }) => d.joinPlaylist(playlistWorkflowId));
  setHandler(playlistCommandSignal, ({ playlistWorkflowId, action, by }) => d.playlistCommand(playlistWorkflowId, action, by));
  setHandler(progressQuery, () => d.view());
  setHandler(downloadStartedSignal, () => {
    // Late (the step has ended or was told to stop): the state already says what comes next.
    if (!d.inDownloadStep || d.mustStop || d.finished || d.running?.interrupted) return;
    d.downloadBegan = true;
    if (d.state !== 'downloading') d.setState('downloading');
  });
  setHandler(globalPauseSignal, ({ paused, by }) => {
    d.controlAnswered = true;
    d.globalPaused = paused;
    d.globalPausedBy = by;
    if (paused) d.interrupt();
  });
  /** Fails an accepted update with words for the person who asked (the workflow goes on). */
  const tooLate = (verb: string) => ApplicationFailure.nonRetryable(`${endedText(d.state)} before it could be ${verb}`, 'TooLate');
  setHandler(
    pauseUpdate,
    async ({ by }): Promise<ControlAnswer> => {
      d.pausedBy = by;
      d.interrupt();
      // Answer with what happened: it stopped, or it ended first, or it was resumed meanwhile.
      await condition(() => d.finished || d.state === 'paused' || d.pausedBy === null);
      if (d.finished) throw tooLate('paused');
      if (d.pausedBy === null) return { state: d.state, message: 'paused, and resumed since' };
      return { state: 'paused', message: d.downloadBegan ? 'paused; its partial file is kept' : 'paused before it started' };
    },
    {
      validator: (_request: { by: Actor }) => {
        d.refuseIfEnded();
        if (d.pausedBy) throw new Error(`it is already paused (by ${d.pausedBy.name})`);
      },
    },
  );
  setHandler(
    resumeUpdate,
    ({ by }): ControlAnswer => {
      d.pausedBy = null;
      log.info('resumed', { by: by.id });
      return d.globalPaused
        ? {
            state: 'paused',
            message: `no longer paused on its own, but everything is still paused (by ${d.globalPausedBy?.name ?? 'someone'})`,
          }
        : { state: 'queued', message: d.downloadBegan ? 'resumed; it continues from its partial file' : 'resumed' };
    },
    {
      validator: (_request: { by: Actor }) => {
        d.refuseIfEnded();
        if (!d.pausedBy && d.globalPaused) {
          throw new Error(`everything is paused (by ${d.globalPausedBy?.name ?? 'someone'}); /resume without an ID continues all`);
        }
        if (!d.pausedBy) throw new Error('it is not paused');
      },
    },
  );
  setHandler(
    cancelUpdate,
    async ({ by }): Promise<ControlAnswer> => {
      d.cancelledBy = by;
      d.interrupt();
      await condition(() => d.finished);
      if (d.outcome?.status !== 'cancelled') throw tooLate('cancelled');
      return { state: 'cancelled', message: 'cancelled; its partial files are removed and everyone who asked is told' };
    },
    { validator: (_request: { by: Actor }) => d.refuseIfEnded() },
  );

  // Downloads started under the first release do not register with the control
  // workflow (the global pause does not reach them); pause and cancel of one still work.
  const controlled = patched(CONTROL_PATCH);
  const fixed = controlled && patched(CONTROL_FIXES_PATCH);
  const lean = fixed && patched(LEAN_PATCH);

  let outcome: DownloadOutcome;
  let cancelled: unknown = null;
  try {
    let onDisk: Awaited<ReturnType<typeof records.dedup>> = null;
    if (lean2 && !input.carried) {
      const begun = await records.beginDownload(input, [...d.subscribers], controlWorkflowId(workflowInfo().taskQueue));
      onDisk = begun.onDisk;
      // What the first step assumed (a recent look) holds unless the control workflow has
      // signalled already: it signals a registered download only with what is newer (a
      // correction of that assumption, or a pause or resume since).
      if (begun.globalPause && !d.controlAnswered) {
        d.globalPaused = begun.globalPause.paused;
        d.globalPausedBy = begun.globalPause.by;
      }
    } else if (lean && !input.carried) {
      [, onDisk] = await Promise.all([registerWithControl(), records.dedup(input, [...d.subscribers])]);
    } else {
      if (controlled && !input.carried) await registerWithControl();
      onDisk = input.carried ? null : await records.dedup(input, [...d.subscribers]);
    }
    outcome = onDisk ? { status: 'completed', fromCache: true, ...onDisk } : await downloadUntilDone();
    if (outcome.status === 'failed' && outcome.errorKind === 'Playlist' && patched(PLAYLIST_PATCH)) {
      // A playlist asked for by people becomes the playlist workflow; one met as another playlist's entry is not expanded.
      if (d.playlists.size === 0) return await becomePlaylist();
      outcome = { ...outcome, message: NESTED_PLAYLIST_MESSAGE };
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelled through Temporal itself (an operator's `temporal workflow cancel`).
    cancelled = err;
    outcome = { status: 'failed', errorKind: 'Cancelled', message: 'the download was cancelled' };
  }
  d.outcome = outcome;
  d.setState(outcome.status, d.uiAttributes ? endedAttributes(outcome) : []);
  if (d.uiAttributes && outcome.status === 'completed') upsertMemo({ title: outcome.title });

  // Cleaning up, recording and telling people happen even when the workflow was cancelled.
  await CancellationScope.nonCancellable(async () => {
    if (outcome.status === 'cancelled') {
      await diskNow
        .discardDownload(input, startedAt)
        .catch((err: unknown) => log.warn('could not remove the partial files', { error: String(err) }));
    }
    // Before telling people: the notify loop must be the last thing that waits, so
    // that whoever joins while it runs is told too.
    if (lean2) {
      await recordAndNotify(outcome, true);
    } else if (lean) {
      await Promise.all([unregisterFromControl(), recordAndNotify(outcome)]);
      // Whoever joined after the last notification pass, while unregistering was still on its way.
      while (d.unnotified.length > 0 || d.untoldPlaylists.length > 0) await recordAndNotify(outcome);
    } else {
      if (controlled && fixed) await unregisterFromControl();
      await recordAndNotify(outcome);
      if (controlled && !fixed) await unregisterFromControl();
    }
  });
  await condition(allHandlersFinished);
  if (cancelled) throw cancelled;
  return outcome;

  /**
   * Hands over to the playlist workflow on the same ID: it lists the entries and
   * starts one download per entry. People who asked hear from it.
   */
  async function becomePlaylist(): Promise<never> {
    d.outcome = { status: 'failed', errorKind: 'Playlist', message: 'it turned out to be a playlist' };
    await unregisterFromControl();
    await condition(allHandlersFinished);
    const playlist: PlaylistInput = { source: { ...input, carried: undefined }, requesters: d.subscribers, pausedBy: d.pausedBy };
    return makeContinueAsNewFunc<(input: PlaylistInput) => Promise<unknown>>({ workflowType: PLAYLIST_WORKFLOW_TYPE })(playlist);
  }

  async function registerWithControl(): Promise<void> {
    try {
      await getExternalWorkflowHandle(controlWorkflowId(workflowInfo().taskQueue)).signal(registerSignal, {
        workflowId: workflowInfo().workflowId,
      });
    } catch (err) {
      // Without the control workflow a global pause cannot reach this download; it still runs.
      log.warn('could not register with the control workflow', { error: String(err) });
      d.controlAnswered = true;
    }
    if (!(await condition(() => d.controlAnswered, CONTROL_ANSWER_TIMEOUT))) log.warn('the control workflow did not answer; going on');
  }

  async function unregisterFromControl(): Promise<void> {
    await getExternalWorkflowHandle(controlWorkflowId(workflowInfo().taskQueue))
      .signal(unregisterSignal, { workflowId: workflowInfo().workflowId })
      .catch((err: unknown) => log.warn('could not unregister from the control workflow', { error: String(err) }));
  }

  /** `finish`: the first pass also unregisters and tells the playlists, in the same activity (LEAN2_PATCH). */
  async function recordAndNotify(result: DownloadOutcome, finish = false): Promise<void> {
    // Count before awaiting: whoever joins during the write is recorded on the next pass.
    let recorded = d.subscribers.length;
    if (finish) {
      await records.finishDownload(input, result, d.subscribers.slice(0, recorded), {
        controlWorkflowId: controlWorkflowId(workflowInfo().taskQueue),
        playlists: d.untoldPlaylists.splice(0),
        entryStatus: entryStatusOf(result),
      });
    } else {
      await records.recordResult(input, result, d.subscribers.slice(0, recorded));
    }
    // Subscribers (and playlists) can arrive while we notify; keep going until none is left.
    while (d.unnotified.length > 0 || d.untoldPlaylists.length > 0) {
      const batch = d.unnotified.splice(0);
      const playlists = d.untoldPlaylists.splice(0);
      await Promise.all([
        ...batch.map((s) =>
          notifier.notify(s, input.url, result, input.contentKey).catch((err) => {
            log.warn('could not notify a subscriber', { chatId: s.chatId, error: String(err) });
          }),
        ),
        ...playlists.map((id) =>
          getExternalWorkflowHandle(id)
            .signal(entryEndedSignal, { contentKey: input.contentKey, status: entryStatusOf(result) })
            // A playlist that has ended (cancelled) no longer waits to hear.
            .catch((err: unknown) => log.warn('could not tell a playlist', { playlist: id, error: String(err) })),
        ),
      ]);
      if (d.subscribers.length > recorded) {
        const upTo = d.subscribers.length;
        await records.recordResult(input, result, d.subscribers.slice(recorded, upTo));
        recorded = upTo;
      }
    }
  }

  /**
   * Runs `step` so that pause and cancel can stop it; INTERRUPTED when they asked
   * it to stop. Whatever the step then ends with (cancelled, or a heartbeat
   * timeout when its worker is gone) is the interruption, not the download's
   * failure; the loop decides what comes next (wait, run it again, or end).
   */
  async function interruptible<T>(step: () => Promise<T>): Promise<T | typeof INTERRUPTED> {
    if (d.mustStop) return INTERRUPTED;
    const running = { scope: new CancellationScope(), interrupted: false };
    d.running = running;
    try {
      return await running.scope.run(step);
    } catch (err) {
      // The whole workflow cancelled (an operator) is not ours to absorb.
      const interruption = fixed
        ? running.interrupted && !CancellationScope.current().consideredCancelled
        : d.mustStop && isCancellation(err);
      if (interruption) return INTERRUPTED;
      throw err;
    } finally {
      d.running = null;
    }
  }

  /** Waits while paused; a long history is handed to a fresh run here, where nothing runs. */
  async function waitWhilePaused(): Promise<void> {
    if (!d.paused || d.cancelledBy) return;
    d.setState('paused');
    const limit = input.policy.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    await condition(() => !d.paused || d.cancelledBy !== null || workflowInfo().historyLength > limit);
    if (d.paused && !d.cancelledBy) {
      await condition(allHandlersFinished);
      const carried: CarriedDownloadState = {
        subscribers: d.subscribers,
        pausedBy: d.pausedBy,
        globalPaused: d.globalPaused,
        globalPausedBy: d.globalPausedBy,
        startedAt,
        ...(d.playlists.size > 0 ? { playlists: [...d.playlists] } : {}),
      };
      await continueAsNew<typeof downloadWorkflow>({ ...input, carried });
    }
    if (!d.cancelledBy) d.setState('queued');
  }

  async function waitForDiskSpace(): Promise<void> {
    try {
      await diskNow.checkDiskSpace(input);
      return;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure && cause.type === DISK_LOW)) throw err;
    }
    await waitForSpace();
  }

  /** Waits until the disk has room again (shown as waiting_for_disk; rechecked with backoff). */
  async function waitForSpace(): Promise<void> {
    d.setState('waiting_for_disk');
    await disk.checkDiskSpace(input);
  }

  async function downloadUntilDone(): Promise<DownloadOutcome> {
    let handedBack = 0;
    // LEAN2_PATCH: the download step checks the disk itself; this says it found too little space.
    let diskLow = false;
    for (let round = 1; ;) {
      await waitWhilePaused();
      if (d.cancelledBy) return { status: 'cancelled', by: d.cancelledBy };
      // Before LEAN2_PATCH the disk is checked in a step of its own every time; since, only
      // to wait for space when the download step found too little.
      if (!lean2 || diskLow) {
        try {
          if ((await interruptible(lean2 ? waitForSpace : waitForDiskSpace)) === INTERRUPTED) continue;
        } catch (err) {
          if (isCancellation(err)) throw err;
          return { status: 'failed', ...describeFailure(err, 'disk', input.policy) };
        }
        diskLow = false;
      }
      if (lean2) {
        // Queued until the step has a worker slot and room on disk: it then signals downloadStarted.
        if (d.state !== 'queued') d.setState('queued');
      } else {
        d.setState('downloading');
        d.downloadBegan = true;
      }
      try {
        d.inDownloadStep = true;
        const file = await interruptible(() => (lean2 ? downloader.checkSpaceAndDownload(input) : downloader.download(input)));
        if (file === INTERRUPTED) continue;
        return { status: 'completed', fromCache: false, ...file };
      } catch (err) {
        if (isCancellation(err)) throw err;
        const cause = err instanceof ActivityFailure ? err.cause : undefined;
        if (lean2 && cause instanceof ApplicationFailure && cause.type === DISK_LOW) {
          // The download step's own disk check found too little space: wait for it, then run the step again.
          diskLow = true;
          continue;
        }
        if (handBack && cause instanceof ApplicationFailure && cause.type === WORKER_SHUTDOWN && handedBack < MAX_HAND_BACKS) {
          log.info('the worker running the download stopped; it goes on elsewhere', { handedBack });
          handedBack += 1;
          continue;
        }
        const failure = describeFailure(err, 'download', input.policy);
        if (failure.errorKind === 'DiskFull' && round < MAX_DISK_FULL_ROUNDS) {
          log.warn('disk filled up during the download; waiting for space', { round });
          d.setState('waiting_for_disk');
          round += 1;
          continue;
        }
        return { status: 'failed', ...failure };
      } finally {
        d.inDownloadStep = false;
      }
    }
  }
}
