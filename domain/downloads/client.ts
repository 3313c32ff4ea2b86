import {
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import { defaultPayloadConverter, type SearchAttributePair } from '@temporalio/common';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import type { Config } from '../../lib/config';
import {
  ACTIVE_STATES,
  cancelUpdate,
  controlWorkflowId,
  CONTROL_WORKFLOW_TYPE,
  contentKeyOf,
  controlQuery,
  DOWNLOAD_STATES,
  DOWNLOAD_TYPES_QUERY,
  DOWNLOAD_WORKFLOW_TYPE,
  downloadWorkflowId,
  endedText,
  MIN_SHORT_ID_LENGTH,
  pauseAllUpdate,
  pauseUpdate,
  progressQuery,
  resumeAllUpdate,
  resumeUpdate,
  entryOfSignal,
  entryStatusFromClosed,
  type DownloadOutcome,
  type EntryStatus,
  type PlaylistInput,
  type PlaylistOutcome,
  searchAttributes,
  shortId,
  subscribeSignal,
  type Actor,
  type ControlAnswer,
  type ControlView,
  type DownloadedFile,
  type DownloadInput,
  type DownloadMode,
  type DownloadPolicy,
  type DownloadProgressView,
  type DownloadState,
  type Platform,
  type Subscriber,
} from './definitions';
import type { MediaUrl } from './links';
import type { DownloadOptions } from './options';
import type { SentFile } from './sent-files';

/**
 * The one door to the download workflows. The bot, the HTTP API, the on-call
 * CLI and the tests start, join, inspect, pause, resume and cancel downloads
 * through it, never through Temporal directly: one place knows the workflow
 * IDs, the signals and updates, and how to turn their answers into words.
 */

/** What the client needs to know; built from the configuration by `downloadsSettings`. */
export interface DownloadsSettings {
  /** Where download workflows (and the control workflow) run. */
  taskQueue: string;
  policy: DownloadPolicy;
  /** Longest a call waits for Temporal. */
  callTimeoutMs: number;
  /**
   * Longest pause, resume and cancel wait for their answer: the download's
   * yt-dlp may take a few seconds to stop (a heartbeat, then up to 5 s to exit).
   */
  commandTimeoutMs: number;
}

/** The settings `downloadsSettings` reads, for processes that validate only what they use (the API, the ops CLI). */
export const DOWNLOADS_CLIENT_SETTINGS = [
  'TASK_QUEUE',
  'DOWNLOAD_TASK_QUEUE',
  'MAX_RETRIES',
  'RETRY_BASE_SECONDS',
  'RETRY_MAX_SECONDS',
  'DISK_RECHECK_SECONDS',
  'DISK_WAIT_HOURS',
  'DOWNLOAD_TIMEOUT_MINUTES',
  'HEARTBEAT_TIMEOUT_SECONDS',
  'PLAYLIST_PARALLEL',
] as const satisfies readonly (keyof Config)[];

export function downloadsSettings(
  config: Pick<Config, (typeof DOWNLOADS_CLIENT_SETTINGS)[number]>,
  callTimeoutMs = 5_000,
): DownloadsSettings {
  return {
    taskQueue: config.TASK_QUEUE,
    callTimeoutMs,
    commandTimeoutMs: Math.max(callTimeoutMs, 20_000),
    policy: {
      downloadTaskQueue: config.DOWNLOAD_TASK_QUEUE,
      maxRetries: config.MAX_RETRIES,
      retryBaseSeconds: config.RETRY_BASE_SECONDS,
      retryMaxSeconds: config.RETRY_MAX_SECONDS,
      diskRecheckSeconds: config.DISK_RECHECK_SECONDS,
      diskWaitHours: config.DISK_WAIT_HOURS,
      downloadTimeoutMinutes: config.DOWNLOAD_TIMEOUT_MINUTES,
      heartbeatTimeoutSeconds: config.HEARTBEAT_TIMEOUT_SECONDS,
      playlistParallel: config.PLAYLIST_PARALLEL,
    },
  };
}

/** A link shortened for a one-line summary: host and path, at most 80 characters. */
function shortLink(url: string): string {
  let shown = url;
  try {
    const u = new URL(url);
    shown = `${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    // Not a URL: shown as given.
  }
  return shown.length > 80 ? `${shown.slice(0, 79)}…` : shown;
}

/** Looks up a finished download whose file is still on disk (the database's long-term record). */
/** A finished download on disk, with the file as Telegram keeps it when it was sent back. */
export type CompletedLookup = (contentKey: string) => Promise<(DownloadedFile & { sent?: SentFile }) | null>;

export interface StartRequest {
  /** contentKeyFor(url, mode, options), computed at intake (which also looks it up on disk). */
  contentKey: string;
  url: MediaUrl;
  mode: DownloadMode;
  /** Settled at intake (see settleOptions); part of the content key. */
  options?: DownloadOptions;
  correlationId: string;
  subscriber: Subscriber;
  /** Who asked, for people reading the Web UI ("Alice (@alice)"). */
  requesterName?: string;
  /**
   * From runningAmong() for the whole message: false when Temporal's list had no
   * running download for this content, so the per-link look before starting is
   * skipped. Left out, the link is looked up on its own.
   */
  running?: boolean;
}

export interface StartResult {
  /** `started`: a new download; `joined`: one was already running and gained a subscriber. */
  outcome: 'started' | 'joined';
  shortId: string;
  workflowId: string;
  /** Everything is paused: the download waits for /resume (null: the control workflow did not answer in time). */
  paused: boolean | null;
}

/** A download as lists and replies show it. */
export interface DownloadSummary {
  contentKey: string;
  shortId: string;
  url: string;
  state: DownloadState;
  platform: Platform | null;
  requestedBy: string[];
  startedAt: Date;
  closedAt: Date | null;
}

/** A download in detail: its summary, and while it runs, its live progress. */
export interface DownloadView extends DownloadSummary {
  running: boolean;
  paused: boolean;
  pausedBy: Actor | null;
  subscribers: number | null;
  /** From the download activity's last heartbeat, while it runs. */
  progress: {
    percent: number | null;
    downloadedBytes: number | null;
    totalBytes: number | null;
    speed: number | null;
    etaSeconds: number | null;
    attempt: number;
  } | null;
}

/** Why a command about one download could not be carried out, in words for the person who asked. */
export type Refused =
  | { ok: false; reason: 'not_found' | 'bad_id' | 'finished' | 'refused' | 'unavailable'; message: string }
  | { ok: false; reason: 'ambiguous'; message: string; candidates: string[] };

export type Resolved = { ok: true; contentKey: string; shortId: string } | Refused;
export type CommandResult = ({ ok: true; shortId: string } & ControlAnswer) | Refused;

export interface ListFilter {
  states?: readonly DownloadState[];
  requestedBy?: string;
  platform?: Platform;
}

export interface ListPage {
  downloads: DownloadSummary[];
  /** Pass it back to get the next page; null on the last one. */
  nextPageToken: string | null;
}

/** The activities that download, whose heartbeat carries the progress (checkSpaceAndDownload since downloads-lean-v2). */
const DOWNLOAD_STEPS = new Set(['download', 'checkSpaceAndDownload']);
/** How long a new request waits for a download that has just ended to close, so it can start afresh. */
const ENDING_WAIT_MS = 3_000;
const ENDING_POLL_MS = 200;
/** How often the client makes sure the control workflow runs (an operator may have terminated it). */
const CONTROL_RECHECK_MS = 60_000;
/** The most links runningAmong asks Temporal's list about (in one query). */
const RUNNING_LIST_MAX = 100;
/** How long runningAmong waits for the list before the links are looked up one by one. */
const RUNNING_LIST_WAIT_MS = 2_000;
/** Cancels sent at once by cancelAll. */
const CANCEL_ALL_PARALLEL = 8;

/** How old an answer about the global pause may be for /status and the wording of replies. */
const CONTROL_VIEW_TTL_MS = 1_000;
/** How old an answer may still serve while a fresh one is fetched. */
const CONTROL_VIEW_STALE_MS = 30_000;

export class DownloadsClient {
  /** When the control workflow was last seen running (it is checked again after CONTROL_RECHECK_MS). */
  private controlCheckedAt = 0;
  private controlKept: { at: number; view: ControlView } | null = null;
  private controlInFlight: Promise<ControlView> | null = null;
  private controlGeneration = 0;
  private readonly controlId: string;

  constructor(
    private readonly temporal: Client,
    private readonly settings: DownloadsSettings,
    private readonly completed?: CompletedLookup,
  ) {
    this.controlId = controlWorkflowId(settings.taskQueue);
  }

  /** A finished download of this content whose file is still on disk, from the record. Throws when the database is down. */
  async findCompleted(contentKey: string): Promise<(DownloadedFile & { sent?: SentFile }) | null> {
    return this.completed ? this.completed(contentKey) : null;
  }

  /**
   * Starts the content-addressed download workflow, or adds `subscriber` to the
   * one already running for the same content (signal-with-start: one yt-dlp,
   * everyone told). ALLOW_DUPLICATE lets a finished download run again when its
   * file was deleted; the workflow's dedup step answers the rest.
   */
  async startOrJoin(request: StartRequest): Promise<StartResult> {
    const workflowId = downloadWorkflowId(request.contentKey);
    const input: DownloadInput = {
      contentKey: request.contentKey,
      url: request.url.original,
      normalizedUrl: request.url.normalized,
      platform: request.url.platform,
      videoId: request.url.videoId,
      mode: request.mode,
      ...(request.options && Object.keys(request.options).length > 0 ? { options: request.options } : {}),
      correlationId: request.correlationId,
      policy: this.settings.policy,
    };
    const outcome = await this.withDeadline(async () => {
      await this.ensureControl();
      return this.signalWithStart(
        input,
        request.subscriber.userId,
        (options) =>
          this.temporal.workflow.signalWithStart(DOWNLOAD_WORKFLOW_TYPE, { ...options, signal: subscribeSignal, signalArgs: [request.subscriber] }),
        { chatId: request.subscriber.chatId, name: request.requesterName },
        request.running,
      );
    });
    // Only to word the reply: the download itself learns the global state from the control workflow.
    const paused = await this.recentlyPaused();
    return { outcome, shortId: shortId(request.contentKey), workflowId, paused };
  }

  /**
   * Whether everything is paused, for wording replies: an answer up to
   * CONTROL_VIEW_TTL_MS old serves (the links of one message share one query),
   * and null when the control workflow does not answer within a second.
   */
  private recentlyPaused(): Promise<boolean | null> {
    return this.globalState({ maxAgeMs: CONTROL_VIEW_TTL_MS, deadlineMs: Math.min(1_000, this.settings.callTimeoutMs) })
      .then((view) => view.paused)
      .catch(() => null);
  }

  /**
   * Starts the download of one playlist entry, or joins the download already
   * running for the same content (asked for by someone directly, or by another
   * playlist): it tells the playlist when it ends. `input` comes from the
   * playlist's listing, content key settled.
   */
  async startOrJoinEntry(input: DownloadInput, playlistWorkflowId: string, requestedBy: number | null): Promise<'started' | 'joined'> {
    return this.withDeadline(() =>
      this.signalWithStart(
        input,
        requestedBy,
        (options) =>
          this.temporal.workflow.signalWithStart(DOWNLOAD_WORKFLOW_TYPE, { ...options, signal: entryOfSignal, signalArgs: [{ playlistWorkflowId }] }),
        { playlistWorkflowId },
      ),
    );
  }

  /**
   * How the download on this workflow ID ended, or null while it runs: for a
   * playlist that never heard from an entry (an operator terminated it).
   */
  async entryStatus(workflowId: string): Promise<EntryStatus | null> {
    return this.withDeadline(async () => {
      const handle = this.temporal.workflow.getHandle(workflowId);
      const { status } = await handle.describe();
      if (status.name === 'RUNNING') return null;
      const result = status.name === 'COMPLETED' ? ((await handle.result()) as DownloadOutcome | PlaylistOutcome) : undefined;
      return entryStatusFromClosed(status.name, result);
    });
  }

  /** The start options every download shares; `send` adds the signal that joins it. */
  private async signalWithStart(
    input: DownloadInput,
    requestedBy: number | null,
    send: (options: {
      workflowId: string;
      taskQueue: string;
      args: [DownloadInput];
      workflowIdReusePolicy: WorkflowIdReusePolicy;
      typedSearchAttributes: SearchAttributePair[];
      memo: Record<string, unknown>;
      staticSummary: string;
      staticDetails: string;
    }) => Promise<unknown>,
    who: { chatId?: number; name?: string; playlistWorkflowId?: string } = {},
    listedRunning?: boolean,
  ): Promise<'started' | 'joined'> {
    const workflowId = downloadWorkflowId(input.contentKey);
    // Not in the list of running downloads: nothing to join, or one started a
    // moment ago (the list lags a little), which signal-with-start joins all the
    // same (see runningAmong for what that moment costs).
    const running = listedRunning === false ? false : await this.runningAndNotEnding(workflowId);
    const requester = who.name ?? (requestedBy === 0 ? 'an operator (ops CLI)' : requestedBy === null ? 'a playlist' : `user ${requestedBy}`);
    await send({
      workflowId,
      taskQueue: this.settings.taskQueue,
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      typedSearchAttributes: [
        { key: searchAttributes.DownloadState, value: 'queued' },
        { key: searchAttributes.Platform, value: input.platform },
        { key: searchAttributes.RequestedBy, value: requestedBy === null ? [] : [String(requestedBy)] },
        { key: searchAttributes.CorrelationId, value: input.correlationId },
        { key: searchAttributes.ContentKey, value: input.contentKey },
        ...(who.chatId === undefined ? [] : [{ key: searchAttributes.ChatId, value: [String(who.chatId)] }]),
        ...(who.playlistWorkflowId ? [{ key: searchAttributes.PlaylistId, value: who.playlistWorkflowId }] : []),
      ],
      memo: {
        url: input.url,
        normalizedUrl: input.normalizedUrl,
        mode: input.mode,
        options: input.options ?? {},
        requester,
        ...(input.folder ? { folder: input.folder } : {}),
      },
      // What the Web UI's list and the workflow's page show instead of a bare type name.
      staticSummary: `Download ${shortLink(input.url)} for ${requester}`,
      staticDetails: [
        `**Link:** ${input.url}`,
        `**Mode:** ${input.mode}${input.options && Object.keys(input.options).length ? ` (${JSON.stringify(input.options)})` : ''}`,
        `**Requested by:** ${requester}`,
        ...(who.playlistWorkflowId ? [`**Playlist:** ${who.playlistWorkflowId}`] : []),
        `**Short ID:** ${shortId(input.contentKey)} (npm run ops -- inspect ${shortId(input.contentKey)})`,
      ].join('\n\n'),
    });
    return running ? 'joined' : 'started';
  }

  /**
   * Which of these downloads Temporal lists as running: one visibility query for
   * a message instead of a look per link before starting it. At most
   * RUNNING_LIST_MAX links are asked about (one query, so a message costs the
   * visibility store what one /queue does); for more, and whenever the list cannot
   * be had, the answer is null and the links are looked up one by one.
   *
   * The list lags the server by a moment. A download started within that moment
   * is missing from it: signal-with-start joins it all the same, but the reply
   * calls it queued, and the look that waits out a download already ending is
   * skipped (one that began and ended within that moment would tell the new
   * requester how it ended instead of starting afresh).
   *
   * It waits at most RUNNING_LIST_WAIT_MS: a list throttled or slow (visibility
   * has its own rate limit) costs a message that much, never its links.
   */
  async runningAmong(contentKeys: readonly string[]): Promise<Set<string> | null> {
    if (contentKeys.length === 0) return new Set();
    // Content keys are SHA-256 hex, so the IDs need no escaping in the query.
    if (contentKeys.length > RUNNING_LIST_MAX || !contentKeys.every((key) => /^[0-9a-f]{64}$/.test(key))) return null;
    const byId = new Map(contentKeys.map((key) => [downloadWorkflowId(key), key]));
    const running = new Set<string>();
    const query = `WorkflowId IN (${[...byId.keys()].map((id) => `'${id}'`).join(', ')}) AND ExecutionStatus = 'Running'`;
    try {
      await this.temporal.withDeadline(Date.now() + Math.min(RUNNING_LIST_WAIT_MS, this.settings.callTimeoutMs), async () => {
        for await (const info of this.temporal.workflow.list({ query, pageSize: RUNNING_LIST_MAX })) {
          const key = byId.get(info.workflowId);
          if (key) running.add(key);
        }
      });
      return running;
    } catch {
      return null;
    }
  }

  /**
   * A new run of a failed download (or playlist), with the same link, mode and
   * options, read from its last run's start; `subscriber` is told how it ends.
   * The failed run stays in Temporal's history and the record keeps counting attempts.
   */
  async retry(id: string, subscriber: Subscriber): Promise<({ ok: true; shortId: string } & Pick<StartResult, 'outcome'>) | Refused> {
    const resolved = await this.resolve(id);
    if (!resolved.ok) return resolved;
    const workflowId = downloadWorkflowId(resolved.contentKey);
    return this.withDeadline(async () => {
      const handle = this.temporal.workflow.getHandle(workflowId);
      const description = await handle.describe();
      const summary = summaryOf(description);
      if (description.status.name === 'RUNNING')
        return { ok: false as const, reason: 'refused' as const, message: 'it has not failed: it is still running' };
      if (summary.state !== 'failed') return { ok: false as const, reason: 'finished' as const, message: `${endedText(summary.state)}; only a failed download is retried` };
      const history = await handle.fetchHistory();
      const payload = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
      const started = payload ? (defaultPayloadConverter.fromPayload(payload) as DownloadInput | PlaylistInput) : null;
      const original = started && 'source' in started ? started.source : started;
      if (!original?.contentKey) return { ok: false as const, reason: 'refused' as const, message: 'its first request could not be read back' };
      const input: DownloadInput = { ...original, carried: undefined, correlationId: subscriber.correlationId, policy: this.settings.policy };
      await this.ensureControl();
      const outcome = await this.signalWithStart(input, subscriber.userId, (options) =>
        this.temporal.workflow.signalWithStart(DOWNLOAD_WORKFLOW_TYPE, { ...options, signal: subscribeSignal, signalArgs: [subscriber] }),
      );
      return { ok: true as const, shortId: resolved.shortId, outcome };
    });
  }

  /** The most recent downloads whose last run failed (at most `limit`), for /retry all. */
  async failedKeys(limit = 50): Promise<string[]> {
    return this.withDeadline(async () => {
      const keys: string[] = [];
      const seen = new Set<string>();
      for await (const info of this.temporal.workflow.list({ query: `${DOWNLOAD_TYPES_QUERY} AND ExecutionStatus != 'Running' AND DownloadState = 'failed'` })) {
        if (seen.has(info.workflowId)) continue;
        seen.add(info.workflowId);
        // Only if no later run has taken its place (a newer run may be running or have succeeded).
        const latest = await this.temporal.workflow.getHandle(info.workflowId).describe();
        if (latest.runId === info.runId) keys.push(contentKeyOf(info.workflowId)!);
        if (keys.length >= limit || seen.size >= limit * 4) break;
      }
      return keys;
    });
  }

  /**
   * How many downloads (and playlists) are in each state that has not ended,
   * from Temporal's visibility: one count per state, never a look at each workflow.
   */
  async countByState(): Promise<Record<(typeof ACTIVE_STATES)[number], number>> {
    return this.withDeadline(async () => {
      // Every call settles before this answers: a call left retrying would outlive a closed connection.
      const settled = await Promise.allSettled(
        ACTIVE_STATES.map(async (state) => {
          const { count } = await this.temporal.workflow.count(`${DOWNLOAD_TYPES_QUERY} AND ExecutionStatus = 'Running' AND DownloadState = '${state}'`);
          return [state, count] as const;
        }),
      );
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const counts = settled.map((r) => (r as PromiseFulfilledResult<readonly [string, number]>).value);
      return Object.fromEntries(counts) as Record<(typeof ACTIVE_STATES)[number], number>;
    });
  }

  /**
   * How many downloads `userId` asked for are queued, waiting for disk or
   * downloading (paused ones wait for an admin and do not count), from
   * visibility: always as right as the workflows' own state, whatever ended
   * them (a finish, a failure, a cancel, a pause or a worker that died).
   */
  async activeCountFor(userId: number): Promise<number> {
    return this.withDeadline(async () => {
      const states = ACTIVE_STATES.filter((s) => s !== 'paused').map((s) => `'${s}'`);
      const query = `${DOWNLOAD_TYPES_QUERY} AND ExecutionStatus = 'Running' AND RequestedBy = '${Math.trunc(userId)}' AND DownloadState IN (${states.join(', ')})`;
      return (await this.temporal.workflow.count(query)).count;
    });
  }

  /**
   * Whether everything is paused, by whom, and how many downloads are running.
   * With `maxAgeMs`, an answer that old or newer serves again, and an older one
   * (up to CONTROL_VIEW_STALE_MS) serves while a fresh one is fetched: the
   * control workflow is busy when many downloads start at once, and a query
   * waits its turn; `serveStale: false` waits for the fresh one instead. A
   * pause or resume through this client drops the kept answer.
   */
  async globalState(o: { maxAgeMs?: number; deadlineMs?: number; serveStale?: boolean } = {}): Promise<ControlView> {
    const kept = this.controlKept;
    if (o.maxAgeMs && kept) {
      const age = Date.now() - kept.at;
      if (age <= o.maxAgeMs) return kept.view;
      if (o.serveStale !== false && age <= CONTROL_VIEW_STALE_MS) {
        void this.fetchControl(o.deadlineMs).catch(() => undefined);
        return kept.view;
      }
    }
    return this.fetchControl(o.deadlineMs);
  }

  /** Asks the control workflow, one query at a time; a pause or resume through this client starts a new generation. */
  private fetchControl(deadlineMs = this.settings.callTimeoutMs): Promise<ControlView> {
    if (this.controlInFlight) return this.controlInFlight;
    const generation = this.controlGeneration;
    const attempt = () =>
      this.temporal.withDeadline(Date.now() + deadlineMs, async () => {
        await this.ensureControl();
        return this.controlView();
      });
    const fetched = attempt()
      .catch((err: unknown) => {
        if (!isClosed(err)) throw err;
        this.controlCheckedAt = 0;
        return attempt();
      })
      .then((view) => {
        if (generation === this.controlGeneration) this.controlKept = { at: Date.now(), view };
        return view;
      })
      .finally(() => {
        if (this.controlInFlight === fetched) this.controlInFlight = null;
      });
    this.controlInFlight = fetched;
    return fetched;
  }

  /** Resolves once no query of the control workflow is under way (before the connection is closed). */
  async settle(): Promise<void> {
    await this.controlInFlight?.catch(() => undefined);
  }

  /** Forgets what is known of the control workflow: it is about to change. */
  private forgetControlView(): void {
    this.controlGeneration += 1;
    this.controlKept = null;
    this.controlInFlight = null;
  }

  /** Pauses everything: running downloads stop (keeping their partial files), queued ones wait, new ones wait. */
  async pauseAll(by: Actor): Promise<{ ok: true; message: string; affected: number } | Refused> {
    this.forgetControlView();
    const result = await this.controlCommand(() =>
      this.temporal.workflow.getHandle(this.controlId).executeUpdate(pauseAllUpdate, { args: [{ by }] }),
    );
    this.forgetControlView();
    return result;
  }

  /** Continues everything paused by `pauseAll` (downloads paused one by one stay paused). */
  async resumeAll(by: Actor): Promise<{ ok: true; message: string; affected: number } | Refused> {
    this.forgetControlView();
    const result = await this.controlCommand(() =>
      this.temporal.workflow.getHandle(this.controlId).executeUpdate(resumeAllUpdate, { args: [{ by }] }),
    );
    this.forgetControlView();
    return result;
  }

  /**
   * The content keys of every download that has not ended: the control
   * workflow's list (a download registers the moment it starts) together with
   * visibility (which also knows downloads from before registration existed,
   * and lags a moment behind new ones).
   */
  async activeKeys(): Promise<string[]> {
    const keys = new Set<string>();
    for (const id of (await this.globalState()).active) keys.add(contentKeyOf(id) ?? id);
    let nextPageToken: string | null = null;
    do {
      const page: ListPage = await this.list({ states: ACTIVE_STATES }, { pageSize: 100, nextPageToken });
      for (const d of page.downloads) keys.add(d.contentKey);
      nextPageToken = page.nextPageToken;
    } while (nextPageToken);
    return [...keys];
  }

  /** How many downloads /cancel all would cancel. */
  async activeCount(): Promise<number> {
    return (await this.activeKeys()).length;
  }

  /** Cancels every download that has not ended, a few at a time; answers how many were cancelled. */
  async cancelAll(by: Actor): Promise<{ cancelled: number; failed: number }> {
    const keys = await this.activeKeys();
    let cancelled = 0;
    let failed = 0;
    for (let i = 0; i < keys.length; i += CANCEL_ALL_PARALLEL) {
      const results = await Promise.all(keys.slice(i, i + CANCEL_ALL_PARALLEL).map((key) => this.cancel(key, by)));
      cancelled += results.filter((r) => r.ok).length;
      failed += results.filter((r) => !r.ok).length;
    }
    return { cancelled, failed };
  }

  pause(id: string, by: Actor): Promise<CommandResult> {
    return this.downloadCommand(id, (workflowId) => this.temporal.workflow.getHandle(workflowId).executeUpdate(pauseUpdate, { args: [{ by }] }));
  }

  resume(id: string, by: Actor): Promise<CommandResult> {
    return this.downloadCommand(id, (workflowId) => this.temporal.workflow.getHandle(workflowId).executeUpdate(resumeUpdate, { args: [{ by }] }));
  }

  cancel(id: string, by: Actor): Promise<CommandResult> {
    return this.downloadCommand(id, (workflowId) => this.temporal.workflow.getHandle(workflowId).executeUpdate(cancelUpdate, { args: [{ by }] }));
  }

  /**
   * Finds the download a short ID (a prefix of its content key, at least 6
   * characters) or a full content key names, among the downloads Temporal
   * still knows (running, and closed within the namespace's retention).
   */
  async resolve(id: string): Promise<Resolved> {
    const prefix = id.trim().toLowerCase();
    if (!new RegExp(`^[0-9a-f]{${MIN_SHORT_ID_LENGTH},64}$`).test(prefix)) {
      return { ok: false, reason: 'bad_id', message: `"${id.slice(0, 70)}" is not a download ID (at least ${MIN_SHORT_ID_LENGTH} of the letters and digits shown in brackets)` };
    }
    const keys = new Set<string>();
    await this.withDeadline(async () => {
      for await (const info of this.temporal.workflow.list({
        query: `${DOWNLOAD_TYPES_QUERY} AND WorkflowId STARTS_WITH '${downloadWorkflowId(prefix)}'`,
        pageSize: 20,
      })) {
        keys.add(contentKeyOf(info.workflowId)!);
        if (keys.size > 5) break;
      }
    });
    const [only, ...others] = [...keys].sort();
    if (!only) return { ok: false, reason: 'not_found', message: `no download has the ID ${prefix}` };
    if (others.length > 0) {
      const candidates = [only, ...others].map((key) => key.slice(0, uniqueLength([only, ...others], key)));
      return { ok: false, reason: 'ambiguous', message: `${prefix} could be ${candidates.join(', ')}; give more of the ID`, candidates };
    }
    return { ok: true, contentKey: only, shortId: shortId(only) };
  }

  /** One download in detail, live while it runs. */
  async describe(id: string): Promise<({ ok: true } & DownloadView) | Refused> {
    const resolved = await this.resolve(id);
    if (!resolved.ok) return resolved;
    return this.describeKey(resolved.contentKey);
  }

  /** Attempts a download makes at most (the first and its retries), for "attempt 2 of 6". */
  get maxAttempts(): number {
    return this.settings.policy.maxRetries + 1;
  }

  /**
   * `describe` for a content key already known (no short-ID lookup in
   * visibility). Throws when the download does not exist. With `live: false`
   * the workflow is not queried (a query waits for a busy workflow's turn): the
   * state, pause and progress then come from visibility and the last heartbeat,
   * which is all a progress line needs.
   */
  async describeKey(contentKey: string, o: { live?: boolean } = {}): Promise<{ ok: true } & DownloadView> {
    return this.withDeadline(async () => {
      const handle = this.temporal.workflow.getHandle(downloadWorkflowId(contentKey));
      const description = await handle.describe();
      const summary = summaryOf(description);
      const running = description.status.name === 'RUNNING';
      const live: DownloadProgressView | null = running && o.live !== false ? await handle.query(progressQuery).catch(() => null) : null;
      const pending = description.raw.pendingActivities?.find((a) => DOWNLOAD_STEPS.has(a.activityType?.name ?? ''));
      const beat = pending?.heartbeatDetails?.payloads?.[0];
      const details = beat ? (defaultPayloadConverter.fromPayload(beat) as Record<string, number | null>) : null;
      return {
        ok: true,
        ...summary,
        state: live?.state ?? summary.state,
        running,
        paused: live?.paused ?? summary.state === 'paused',
        pausedBy: live?.pausedBy ?? null,
        subscribers: live?.subscribers ?? null,
        progress: pending
          ? {
              percent: details?.percent ?? null,
              downloadedBytes: details?.downloadedBytes ?? null,
              totalBytes: details?.totalBytes ?? null,
              speed: details?.speed ?? null,
              etaSeconds: details?.etaSeconds ?? null,
              attempt: pending.attempt ?? 1,
            }
          : null,
      };
    });
  }

  /** Downloads, newest first, filtered by state, requester and platform; one page at a time. */
  async list(filter: ListFilter = {}, page: { pageSize?: number; nextPageToken?: string | null } = {}): Promise<ListPage> {
    const clauses = [DOWNLOAD_TYPES_QUERY];
    if (filter.states?.length) clauses.push(`DownloadState IN (${filter.states.map((s) => `'${checked(s, DOWNLOAD_STATES)}'`).join(', ')})`);
    if (filter.requestedBy) clauses.push(`RequestedBy = '${filter.requestedBy.replace(/[^0-9A-Za-z:_-]/g, '')}'`);
    if (filter.platform) clauses.push(`Platform = '${filter.platform.replace(/[^a-z]/g, '')}'`);
    return this.withDeadline(async () => {
      const { namespace, loadedDataConverter } = this.temporal.options;
      const response = await this.temporal.workflowService.listWorkflowExecutions({
        namespace,
        query: clauses.join(' AND '),
        pageSize: page.pageSize ?? 10,
        nextPageToken: page.nextPageToken ? Buffer.from(page.nextPageToken, 'base64url') : undefined,
      });
      const downloads = await Promise.all(
        (response.executions ?? []).map(async (raw) => summaryOf(await executionInfoFromRaw(raw, loadedDataConverter, raw, namespace))),
      );
      const token = response.nextPageToken?.length ? Buffer.from(response.nextPageToken).toString('base64url') : null;
      return { downloads, nextPageToken: token };
    });
  }

  /** Downloads that have not ended (queued, waiting for disk, downloading, paused). */
  listActive(page: { pageSize?: number; nextPageToken?: string | null } = {}): Promise<ListPage> {
    return this.list({ states: ACTIVE_STATES }, page);
  }

  /** Starts the control workflow unless it runs (checked at most once a minute). */
  async ensureControl(): Promise<void> {
    if (Date.now() - this.controlCheckedAt < CONTROL_RECHECK_MS) return;
    await this.temporal.workflow.start(CONTROL_WORKFLOW_TYPE, {
      workflowId: this.controlId,
      taskQueue: this.settings.taskQueue,
      args: [],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      memo: { purpose: 'Holds the global pause and the list of running downloads' },
    });
    this.controlCheckedAt = Date.now();
  }

  private async controlView(): Promise<ControlView> {
    return this.temporal.workflow.getHandle(this.controlId).query(controlQuery);
  }

  private async isRunning(workflowId: string): Promise<boolean> {
    try {
      return (await this.temporal.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  /**
   * Whether a download is running and still going to download: one that has
   * ended (cancelled, say) and only records and tells people is waited for, so
   * that the link starts afresh instead of joining a download that is over.
   */
  private async runningAndNotEnding(workflowId: string): Promise<boolean> {
    const handle = this.temporal.workflow.getHandle(workflowId);
    for (let waited = 0; ; waited += ENDING_POLL_MS) {
      if (!(await this.isRunning(workflowId))) return false;
      const view = await handle.query(progressQuery).catch(() => null);
      // A worker that does not answer, or a download from before `finished` existed: join it.
      if (!view?.finished || waited >= ENDING_WAIT_MS) return true;
      await new Promise((r) => setTimeout(r, ENDING_POLL_MS));
    }
  }

  private async downloadCommand(id: string, send: (workflowId: string) => Promise<ControlAnswer>): Promise<CommandResult> {
    const resolved = await this.resolve(id);
    if (!resolved.ok) return resolved;
    const workflowId = downloadWorkflowId(resolved.contentKey);
    try {
      const answer = await this.withCommandTimeout(() => send(workflowId));
      return { ok: true, shortId: resolved.shortId, ...answer };
    } catch (err) {
      if (!isClosed(err)) return refusal(err);
      // Closed: say how it ended, as the workflow itself would have.
      const state = await this.withDeadline(async () => summaryOf(await this.temporal.workflow.getHandle(workflowId).describe()).state).catch(() => null);
      return { ok: false, reason: 'finished', message: endedText(state ?? 'completed') };
    }
  }

  private async controlCommand<T extends { message: string; affected: number }>(send: () => Promise<T>): Promise<({ ok: true } & T) | Refused> {
    const attempt = async () => {
      await this.withDeadline(() => this.ensureControl());
      return this.withCommandTimeout(send);
    };
    try {
      return { ok: true, ...(await attempt()) };
    } catch (err) {
      if (!isClosed(err)) return refusal(err);
      // The control workflow was terminated (by an operator): start it again once.
      this.controlCheckedAt = 0;
      try {
        return { ok: true, ...(await attempt()) };
      } catch (again) {
        return refusal(again);
      }
    }
  }

  /**
   * An update waits at most commandTimeoutMs for its answer. (A deadline would not
   * do: the client polls for an update's outcome in a loop that outlives deadlines.)
   */
  private withCommandTimeout<T>(fn: () => Promise<T>): Promise<T> {
    return this.temporal.withAbortSignal(AbortSignal.timeout(this.settings.commandTimeoutMs), fn);
  }

  /** Every call waits at most callTimeoutMs: a Temporal outage (or no worker to answer) costs seconds, not minutes. */
  private withDeadline<T>(fn: () => Promise<T>): Promise<T> {
    return this.temporal.withDeadline(Date.now() + this.settings.callTimeoutMs, fn);
  }
}

/** The shortest prefix of `key`, at least MIN_SHORT_ID_LENGTH long, that no other of `keys` shares. */
function uniqueLength(keys: string[], key: string): number {
  let length = MIN_SHORT_ID_LENGTH;
  while (keys.some((other) => other !== key && other.startsWith(key.slice(0, length)))) length += 1;
  return length;
}

function checked<T extends string>(value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`unknown value ${value}`);
  return value as T;
}

/** Whether an update failed because the workflow has closed. */
function isClosed(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || /workflow execution already completed/i.test(String(err));
}

/** Turns a failed update into the answer for the person who asked. */
function refusal(err: unknown): Refused {
  if (err instanceof WorkflowUpdateFailedError) {
    // A validator's words ("it is already paused (by Alice)").
    return { ok: false, reason: 'refused', message: err.cause?.message ?? err.message };
  }
  return {
    ok: false,
    reason: 'unavailable',
    message: 'the downloads service did not answer in time; the command may still take effect in a moment (send it again to check)',
  };
}

function summaryOf(info: Pick<WorkflowExecutionInfo, 'workflowId' | 'typedSearchAttributes' | 'memo' | 'status' | 'startTime' | 'closeTime'>): DownloadSummary {
  const contentKey = contentKeyOf(info.workflowId) ?? info.workflowId;
  const attributes = info.typedSearchAttributes;
  const memo = (info.memo ?? {}) as { url?: string };
  const state = attributes.get(searchAttributes.DownloadState) as DownloadState | undefined;
  return {
    contentKey,
    shortId: shortId(contentKey),
    url: memo.url ?? '',
    state: state ?? (info.status.name === 'RUNNING' ? 'queued' : 'failed'),
    platform: (attributes.get(searchAttributes.Platform) as Platform | undefined) ?? null,
    requestedBy: attributes.get(searchAttributes.RequestedBy) ?? [],
    startedAt: info.startTime,
    closedAt: info.closeTime ?? null,
  };
}
