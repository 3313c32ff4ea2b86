import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { DownloadOptions } from './options';

/**
 * The contract of the downloads domain, shared by the workflows (which import
 * it into the deterministic sandbox), the activities, the downloads client and
 * operators: states, workflow IDs, signals, updates, queries, search attributes
 * and the shapes they carry. No I/O and no Node modules (lint enforces it).
 */

// ---------------------------------------------------------------------------
// States and modes: one list for the database enum, the search attribute and replies.

/** The life of one download. The Prisma enum `DownloadState` mirrors this list (a test checks). */
export const DOWNLOAD_STATES = ['queued', 'waiting_for_disk', 'downloading', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type DownloadState = (typeof DOWNLOAD_STATES)[number];
/** States of a download that has not ended. */
export const ACTIVE_STATES = ['queued', 'waiting_for_disk', 'downloading', 'paused'] as const satisfies readonly DownloadState[];

export const DOWNLOAD_MODES = ['video', 'audio'] as const;
export type DownloadMode = (typeof DOWNLOAD_MODES)[number];

export type Platform = 'youtube' | 'twitter' | 'reddit' | 'tiktok' | 'instagram' | 'vimeo' | 'twitch' | 'generic';

// ---------------------------------------------------------------------------
// Workflow IDs.

export const DOWNLOAD_WORKFLOW_TYPE = 'downloadWorkflow';
/**
 * A link yt-dlp reports as a playlist (a channel, a feed, a page of several
 * videos): the download workflow continues as new into this type, on the same
 * workflow ID, and it starts one download per entry.
 */
export const PLAYLIST_WORKFLOW_TYPE = 'playlistWorkflow';
/** The workflow types the downloads client lists, resolves and commands: one ID space (`download-<content key>`). */
export const DOWNLOAD_WORKFLOW_TYPES = [DOWNLOAD_WORKFLOW_TYPE, PLAYLIST_WORKFLOW_TYPE] as const;
/** A visibility clause matching every workflow type the downloads client serves. */
export const DOWNLOAD_TYPES_QUERY = `(${DOWNLOAD_WORKFLOW_TYPES.map((type) => `WorkflowType = '${type}'`).join(' OR ')})`;
export const CONTROL_WORKFLOW_TYPE = 'downloadsControlWorkflow';
/**
 * The one workflow that holds the global pause and knows every running download
 * of a task queue (the worker fleet that runs them); it runs on that queue too.
 */
export function controlWorkflowId(taskQueue: string): string {
  return `downloads-control-${taskQueue}`;
}
const DOWNLOAD_ID_PREFIX = 'download-';

/** Content-addressed: the same content always lands on the same workflow. */
export function downloadWorkflowId(contentKey: string): string {
  return `${DOWNLOAD_ID_PREFIX}${contentKey}`;
}

/** The content key in a download workflow ID, or null for another workflow. */
export function contentKeyOf(workflowId: string): string | null {
  return workflowId.startsWith(DOWNLOAD_ID_PREFIX) ? workflowId.slice(DOWNLOAD_ID_PREFIX.length) : null;
}

/** Short IDs people type are prefixes of the content key: at least this long. */
export const MIN_SHORT_ID_LENGTH = 6;
/** How long the short ID in replies is: collisions at 8 hex digits are rare, and a command names an ambiguous prefix's candidates. */
export const SHOWN_SHORT_ID_LENGTH = 8;

/** The short ID replies show for a download. */
export function shortId(contentKey: string): string {
  return contentKey.slice(0, SHOWN_SHORT_ID_LENGTH);
}

// ---------------------------------------------------------------------------
// Shapes.

/** Someone who wants to hear when a download ends, and where to tell them. */
export interface Subscriber {
  chatId: number;
  userId: number;
  /** The message that asked; the completion message replies to it. */
  messageId: number;
  correlationId: string;
  /**
   * `cli`: an operator who asked with `npm run ops -- download` (chat and user 0).
   * Nobody is told on Telegram; the CLI reads the outcome from the workflow.
   * Absent: a Telegram chat, as every subscriber before the ops CLI.
   */
  via?: 'cli';
}

/** Who asked for a pause, a resume or a cancel, as replies name them. */
export interface Actor {
  /** Where the command came from and who gave it, e.g. "telegram:123456" or "cli". */
  id: string;
  /** A name for people: "Alice (@alice)". */
  name: string;
}

/** How the workflow schedules its activities; filled from config by the downloads client. */
export interface DownloadPolicy {
  downloadTaskQueue: string;
  /** Retries after the first attempt; attempts = maxRetries + 1. */
  maxRetries: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  diskRecheckSeconds: number;
  /** How long to wait for disk space before giving up. */
  diskWaitHours: number;
  downloadTimeoutMinutes: number;
  heartbeatTimeoutSeconds: number;
  /** A paused download (or a playlist) continues as new past this many history events (default 2,000; tests set it low). */
  historyLimit?: number;
  /** PLAYLIST_PARALLEL: a playlist's entries downloading at once, at most (absent in workflows started before playlists). */
  playlistParallel?: number;
}

export interface DownloadInput {
  contentKey: string;
  url: string;
  normalizedUrl: string;
  platform: Platform;
  videoId: string | null;
  mode: DownloadMode;
  /** Quality and format, settled at intake (part of the content key); absent for the defaults. */
  options?: DownloadOptions;
  /** A folder inside DOWNLOAD_DIR for the file (a playlist's, a safe name); DOWNLOAD_DIR itself when absent. */
  folder?: string;
  /** The correlation ID of the request that started the download. */
  correlationId: string;
  policy: DownloadPolicy;
  /** State carried over by continue-as-new (a download paused and resumed many times). */
  carried?: CarriedDownloadState;
}

/** What a download workflow hands to its next run when its history grows long. */
export interface CarriedDownloadState {
  /** Everyone who asked (all are recorded and told when it ends). */
  subscribers: Subscriber[];
  pausedBy: Actor | null;
  globalPaused: boolean;
  globalPausedBy: Actor | null;
  /** When the first run started: files this download wrote are newer. */
  startedAt: number;
  /** Playlists (workflow IDs) this download is an entry of; each is told when it ends. */
  playlists?: string[];
}

export interface DownloadedFile {
  title: string;
  /** Relative to DOWNLOAD_DIR. */
  filePath: string;
  sizeBytes: number;
  /** The downloader that fetched it (yt-dlp's extractor name, "direct"); absent from records and older runs. */
  downloader?: string;
}

export type DownloadOutcome =
  | ({ status: 'completed'; fromCache: boolean } & DownloadedFile)
  | { status: 'failed'; errorKind: string; message: string; downloader?: string }
  | { status: 'cancelled'; by: Actor };

/**
 * What the `progress` query answers. Byte-level progress lives in the download
 * activity's heartbeat details (shown under pending activities in the Web UI).
 */
export interface DownloadProgressView {
  state: DownloadState;
  subscribers: number;
  paused: boolean;
  /** Who paused this download; null when only the global pause holds it. */
  pausedBy: Actor | null;
  globalPaused: boolean;
  cancelledBy: Actor | null;
  /** It has ended (and is recording and telling people); a link sent now joins a download that is over. */
  finished: boolean;
  /** A playlist's own counts; absent for one download. */
  playlist?: PlaylistCounts;
}

/** Where a playlist's entries stand. */
export interface PlaylistCounts {
  title: string | null;
  /** Entries taken (at most MAX_PLAYLIST_VIDEOS). */
  total: number;
  /** The playlist had more entries than were taken. */
  capped: boolean;
  pending: number;
  running: number;
  completed: number;
  alreadyHad: number;
  failed: number;
  cancelled: number;
}

/** How a command about a download that has ended is answered, by the workflow or (once it has closed) by the client. */
export function endedText(state: DownloadState): string {
  if (state === 'cancelled') return 'it was already cancelled';
  if (state === 'failed') return 'it has already failed';
  return 'it has already finished';
}

/** The truthful answer to pause, resume and cancel (updates). */
export interface ControlAnswer {
  state: DownloadState;
  /** What happened, in words for the person who asked. */
  message: string;
}

// ---------------------------------------------------------------------------
// Messages to a download.

/** Adds one more person to notify; a duplicate (same chat and message) is ignored. */
export const subscribeSignal = defineSignal<[Subscriber]>('subscribe');
/**
 * The download step has a worker slot and enough disk, and begins fetching
 * (downloads-lean-v2): until then the download counts as queued, however many
 * wait for a MAX_CONCURRENT slot.
 */
export const downloadStartedSignal = defineSignal('downloadStarted');
export const progressQuery = defineQuery<DownloadProgressView>('progress');
/** Stops the download (its yt-dlp within seconds, keeping the partial file) until `resume`. */
export const pauseUpdate = defineUpdate<ControlAnswer, [{ by: Actor }]>('pause');
export const resumeUpdate = defineUpdate<ControlAnswer, [{ by: Actor }]>('resume');
/** Stops the download for good: partial files removed, every subscriber told who cancelled it. */
export const cancelUpdate = defineUpdate<ControlAnswer, [{ by: Actor }]>('cancel');
/** From the control workflow: whether everything is paused (its answer to `register`, and every change). */
export const globalPauseSignal = defineSignal<[{ paused: boolean; by: Actor | null }]>('globalPause');

// ---------------------------------------------------------------------------
// Playlists.

/** One entry of a playlist, as its listing settled it (content key, link and where the file goes). */
export interface PlaylistEntry {
  contentKey: string;
  url: string;
  normalizedUrl: string;
  platform: Platform;
  videoId: string | null;
  title: string | null;
}

/** Where one entry stands in its playlist. */
export type EntryStatus =
  | { state: 'pending' | 'running' }
  | { state: 'completed'; fromCache: boolean }
  | { state: 'failed'; message: string }
  | { state: 'cancelled' };

/** What listing a playlist found: its entries (content keys settled, duplicates and the playlist itself dropped). */
export interface PlaylistListing {
  title: string | null;
  /** A safe folder name inside DOWNLOAD_DIR for the entries' files. */
  folder: string;
  entries: PlaylistEntry[];
  /** The playlist went on past MAX_PLAYLIST_VIDEOS. */
  capped: boolean;
  /** Entries left out, with why (not a link we take, a repeat). */
  skipped: number;
}

export interface PlaylistInput {
  /** The request that turned out to be a playlist (its link, mode, options, policy). */
  source: DownloadInput;
  /** Everyone who asked for the playlist: told when its entries are queued and when they have all ended. */
  requesters: Subscriber[];
  pausedBy: Actor | null;
  /** State carried over by continue-as-new. */
  carried?: CarriedPlaylistState;
}

export interface CarriedPlaylistState {
  listing: Omit<PlaylistListing, 'entries'>;
  entries: PlaylistEntry[];
  /** By content key. */
  statuses: Record<string, EntryStatus>;
  /** Requesters already told that the entries were queued. */
  told: number;
  startedAt: number;
}

/** From a download to each playlist it is an entry of, when it ends. */
export interface EntryEnded {
  contentKey: string;
  status: EntryStatus;
}

export type PlaylistOutcome = { status: 'completed' | 'cancelled' | 'failed'; counts: PlaylistCounts; message?: string };

/** Why an entry that is itself a playlist is not downloaded. */
export const NESTED_PLAYLIST_MESSAGE = 'this entry is itself a playlist; playlists inside playlists are not expanded';

/** How an entry's download ended, as its playlist counts it. */
export function entryStatusOf(outcome: DownloadOutcome): EntryStatus {
  if (outcome.status === 'completed') return { state: 'completed', fromCache: outcome.fromCache };
  if (outcome.status === 'cancelled') return { state: 'cancelled' };
  return { state: 'failed', message: outcome.message };
}

/** How a closed download workflow ended (its Temporal status and result), for a playlist that did not hear from it. */
export function entryStatusFromClosed(status: string, result: DownloadOutcome | PlaylistOutcome | undefined): EntryStatus {
  // The entry's link is itself a playlist (it ran as one): not expanded inside another.
  if (result && 'counts' in result) return { state: 'failed', message: NESTED_PLAYLIST_MESSAGE };
  if (status === 'COMPLETED' && result) return entryStatusOf(result);
  if (status === 'TERMINATED') return { state: 'failed', message: 'its download was terminated by an operator' };
  if (status === 'CANCELLED') return { state: 'cancelled' };
  return { state: 'failed', message: `its download ended as ${status.toLowerCase().replace(/_/g, ' ')}` };
}

/** What a playlist tells the people who asked for it: once its entries are queued, and once they have all ended. */
export type PlaylistMessage =
  | { kind: 'queued'; id: string; title: string | null; total: number; capped: boolean; skipped: number; folder: string }
  | {
      kind: 'ended';
      id: string;
      title: string | null;
      counts: PlaylistCounts;
      folder: string;
      /** The first failed entries (name and reason); `counts.failed` says how many there were. */
      failures: Array<{ name: string; reason: string }>;
      cancelledBy?: Actor;
      /** The playlist itself could not be listed. */
      error?: string;
    };

/** Failed entries named one by one in a summary; the rest are counted. */
export const SUMMARY_FAILURES_SHOWN = 20;

/** A download joins a playlist as one of its entries (sent with signal-with-start by the playlist's starter). */
export const entryOfSignal = defineSignal<[{ playlistWorkflowId: string }]>('entryOf');
/**
 * A playlist's pause, resume or release of one of its entries. Release: the
 * entry is cancelled unless someone else (a person, another playlist) still wants it.
 */
export const playlistCommandSignal = defineSignal<[{ playlistWorkflowId: string; action: 'pause' | 'resume' | 'release'; by: Actor }]>(
  'playlistCommand',
);
export const entryEndedSignal = defineSignal<[EntryEnded]>('entryEnded');

/** How a playlist's pause names itself on its entries: resume from the playlist lifts only its own pause. */
export function playlistActor(playlistWorkflowId: string, by: Actor): Actor {
  const key = contentKeyOf(playlistWorkflowId) ?? playlistWorkflowId;
  return { id: `playlist:${shortId(key)}`, name: `${by.name}, with playlist ${shortId(key)}` };
}

// ---------------------------------------------------------------------------
// Messages to the control workflow.

export interface ControlView {
  paused: boolean;
  pausedBy: Actor | null;
  /** Epoch milliseconds. */
  pausedAt: number | null;
  /** Workflow IDs of the downloads that have registered and not yet ended. */
  active: string[];
}

export interface CarriedControlState {
  paused: boolean;
  pausedBy: Actor | null;
  pausedAt: number | null;
  active: string[];
}

/** Whether everything is paused, and by whom. */
export interface GlobalPauseState {
  paused: boolean;
  by: Actor | null;
}

/**
 * A download announces itself when it starts; the control workflow answers with
 * `globalPause`. Downloads since `downloads-lean-v2` say what they assume
 * (`assumed`: everything paused or not, from a recent look) and are answered
 * only when that is wrong: most registrations then cost no signal back.
 */
export const registerSignal = defineSignal<[{ workflowId: string; assumed?: boolean }]>('register');
export const unregisterSignal = defineSignal<[{ workflowId: string }]>('unregister');
export const pauseAllUpdate = defineUpdate<{ paused: boolean; message: string; affected: number }, [{ by: Actor }]>('pauseAll');
export const resumeAllUpdate = defineUpdate<{ paused: boolean; message: string; affected: number }, [{ by: Actor }]>('resumeAll');
export const controlQuery = defineQuery<ControlView>('control');

// ---------------------------------------------------------------------------
// Search attributes, so operators can filter downloads in the Temporal UI.

export const searchAttributes = {
  DownloadState: defineSearchAttributeKey('DownloadState', SearchAttributeType.KEYWORD),
  Platform: defineSearchAttributeKey('Platform', SearchAttributeType.KEYWORD),
  RequestedBy: defineSearchAttributeKey('RequestedBy', SearchAttributeType.KEYWORD_LIST),
  CorrelationId: defineSearchAttributeKey('CorrelationId', SearchAttributeType.KEYWORD),
  ContentKey: defineSearchAttributeKey('ContentKey', SearchAttributeType.KEYWORD),
  /** The downloader of its last attempt (yt-dlp's extractor name, or "direct"), once known. */
  Downloader: defineSearchAttributeKey('Downloader', SearchAttributeType.KEYWORD),
  /** The Telegram chats that asked (0: the ops CLI). */
  ChatId: defineSearchAttributeKey('ChatId', SearchAttributeType.KEYWORD_LIST),
  /** The playlist (its workflow ID) a download is an entry of, when it was started by one. */
  PlaylistId: defineSearchAttributeKey('PlaylistId', SearchAttributeType.KEYWORD),
  /** Why it failed (NotFound, Network, ...), once it has. */
  ErrorKind: defineSearchAttributeKey('ErrorKind', SearchAttributeType.KEYWORD),
} as const;

/** How `temporal server start-dev --search-attribute` and `temporal operator search-attribute create` name each type. */
const CLI_TYPE_NAMES: Record<SearchAttributeType, string> = {
  KEYWORD: 'Keyword',
  KEYWORD_LIST: 'KeywordList',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
};

/** The registrations, derived from the typed keys above (one list to keep). */
export const SEARCH_ATTRIBUTE_REGISTRATIONS: ReadonlyArray<{ name: string; type: string }> = Object.values(searchAttributes).map((key) => ({
  name: key.name,
  type: CLI_TYPE_NAMES[key.type],
}));
