import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

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
  /** A paused download continues as new past this many history events (default 2,000; tests set it low). */
  historyLimit?: number;
}

export interface DownloadInput {
  contentKey: string;
  url: string;
  normalizedUrl: string;
  platform: Platform;
  videoId: string | null;
  mode: DownloadMode;
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
}

export interface DownloadedFile {
  title: string;
  /** Relative to DOWNLOAD_DIR. */
  filePath: string;
  sizeBytes: number;
}

export type DownloadOutcome =
  | ({ status: 'completed'; fromCache: boolean } & DownloadedFile)
  | { status: 'failed'; errorKind: string; message: string }
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
export const progressQuery = defineQuery<DownloadProgressView>('progress');
/** Stops the download (its yt-dlp within seconds, keeping the partial file) until `resume`. */
export const pauseUpdate = defineUpdate<ControlAnswer, [{ by: Actor }]>('pause');
export const resumeUpdate = defineUpdate<ControlAnswer, [{ by: Actor }]>('resume');
/** Stops the download for good: partial files removed, every subscriber told who cancelled it. */
export const cancelUpdate = defineUpdate<ControlAnswer, [{ by: Actor }]>('cancel');
/** From the control workflow: whether everything is paused (its answer to `register`, and every change). */
export const globalPauseSignal = defineSignal<[{ paused: boolean; by: Actor | null }]>('globalPause');

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

/** A download announces itself when it starts; the control workflow answers with `globalPause`. */
export const registerSignal = defineSignal<[{ workflowId: string }]>('register');
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
