import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { DownloadMode, DownloadState } from '../lib/download-state';
import type { Platform } from '../lib/urls';

/**
 * The contract between the bot, the workflows and operators: workflow IDs,
 * signals, queries, search attributes and the shapes they carry. Imported by
 * workflow code, so it must stay deterministic (no I/O, no Node modules).
 */

export const DOWNLOAD_WORKFLOW_TYPE = 'downloadWorkflow';

/** Content-addressed: the same content always lands on the same workflow. */
export function downloadWorkflowId(contentKey: string): string {
  return `download-${contentKey}`;
}

/** Someone who wants to hear when a download ends, and where to tell them. */
export interface Subscriber {
  chatId: number;
  userId: number;
  /** The message that asked; the completion message replies to it. */
  messageId: number;
  correlationId: string;
}

/** How the workflow schedules its activities; filled from config by whoever starts it. */
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
}

export interface DownloadedFile {
  title: string;
  /** Relative to DOWNLOAD_DIR. */
  filePath: string;
  sizeBytes: number;
}

export type DownloadOutcome =
  | ({ status: 'completed'; fromCache: boolean } & DownloadedFile)
  | { status: 'failed'; errorKind: string; message: string };

/**
 * What the `progress` query answers. Byte-level progress lives in the download
 * activity's heartbeat details (shown under pending activities in the Web UI).
 */
export interface DownloadProgressView {
  state: DownloadState;
  subscribers: number;
}

/** Adds one more person to notify; a duplicate (same chat and message) is ignored. */
export const subscribeSignal = defineSignal<[Subscriber]>('subscribe');
export const progressQuery = defineQuery<DownloadProgressView>('progress');

/** Custom search attributes, so operators can filter downloads in the Temporal UI. */
export const searchAttributes = {
  DownloadState: defineSearchAttributeKey('DownloadState', SearchAttributeType.KEYWORD),
  Platform: defineSearchAttributeKey('Platform', SearchAttributeType.KEYWORD),
  RequestedBy: defineSearchAttributeKey('RequestedBy', SearchAttributeType.KEYWORD_LIST),
  CorrelationId: defineSearchAttributeKey('CorrelationId', SearchAttributeType.KEYWORD),
} as const;

/** The same list in the form `temporal server start-dev --search-attribute` takes. */
export const SEARCH_ATTRIBUTE_REGISTRATIONS: ReadonlyArray<{ name: string; type: 'Keyword' | 'KeywordList' }> = [
  { name: 'DownloadState', type: 'Keyword' },
  { name: 'Platform', type: 'Keyword' },
  { name: 'RequestedBy', type: 'KeywordList' },
  { name: 'CorrelationId', type: 'Keyword' },
];
