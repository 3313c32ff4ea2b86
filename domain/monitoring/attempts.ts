import type { ErrorKind } from '../downloads/errors';

/** One download attempt as the worker records it (each retry is one). */
export interface AttemptRecord {
  /** A UUID chosen when the attempt ended: writing it twice stores it once. */
  id: string;
  contentKey: string;
  workflowId: string;
  attempt: number;
  /** The download source (plugin) that ran it: "yt-dlp", "direct"; null when it ended before one was chosen. */
  source: string | null;
  downloader: string;
  platform: string;
  url: string;
  requestedBy: number | null;
  startedAt: string;
  finishedAt: string;
  success: boolean;
  bytes: number | null;
  errorKind: string | null;
  error: string | null;
}

/** Longest error message kept with an attempt. */
export const ERROR_CHARS = 500;

/**
 * Failures that say nothing about a downloader's health: the link's or the
 * user's fault (404, private, unsupported, too large, ...), the server's own
 * state (a full disk, an unusable DOWNLOAD_DIR), or a stop (pause, cancel, a
 * worker shutting down). Everything else (network errors, server errors, rate
 * limits, yt-dlp failing in a way we do not recognise, a site suddenly offering
 * no formats) counts towards an alert.
 */
const NOT_THE_DOWNLOADERS_FAULT = new Set<string>([
  'NotFound',
  'Unavailable',
  'Private',
  'GeoBlocked',
  'Unsupported',
  'Forbidden',
  'StorageUnusable',
  'PrivateAddress',
  'Playlist',
  'TooLarge',
  'NotMedia',
  'UnsafeFile',
  'DiskFull',
  'Interrupted',
  'Cancelled',
  'WorkerShutdown',
] satisfies (ErrorKind | 'Cancelled' | 'WorkerShutdown')[]);

/** Whether an attempt counts in a downloader's health: every success, and failures that are the downloader's. */
export function counts(attempt: Pick<AttemptRecord, 'success' | 'errorKind'>): boolean {
  return attempt.success || !NOT_THE_DOWNLOADERS_FAULT.has(attempt.errorKind ?? 'Unknown');
}

/**
 * The downloader an attempt used: yt-dlp's extractor key in lower case
 * ("youtube", "generic"), as the finished run reports it or as its error line
 * names it ("ERROR: [youtube] abc: Video unavailable"); a source that is not
 * yt-dlp is its own downloader ("direct"); when nothing says, the platform the
 * link belongs to, which is what the extractor would have been for the
 * platforms we know.
 */
export function downloaderOf(o: { source: string | null; extractor?: string | null; platform: string }): string {
  const extractor = o.extractor?.trim().toLowerCase();
  if (extractor && /^[a-z0-9][a-z0-9_:.-]{0,63}$/.test(extractor)) return extractor;
  if (o.source && o.source !== 'yt-dlp') return o.source;
  return o.platform;
}

/** The extractor named by yt-dlp's last "ERROR: [name] ..." line, or null. */
export function extractorInError(stderr: string): string | null {
  let found: string | null = null;
  for (const line of stderr.split('\n')) {
    const match = /^ERROR: \[([A-Za-z0-9_:.-]{1,64})\]/.exec(line.trim());
    if (match) found = match[1]!;
  }
  return found;
}

/** An error message as kept with an attempt: one line, at most ERROR_CHARS. */
export function trimError(message: string | null | undefined): string | null {
  if (!message) return null;
  // PostgreSQL text cannot hold NUL; other control characters are no use to a reader either.
  // eslint-disable-next-line no-control-regex
  const oneLine = message.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  return oneLine.length > ERROR_CHARS ? `${oneLine.slice(0, ERROR_CHARS - 1)}…` : oneLine;
}
