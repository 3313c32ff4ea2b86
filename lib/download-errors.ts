/**
 * Why a download failed, decided once for the whole system. Activities classify
 * yt-dlp's output into a kind; the kind becomes the Temporal failure type, which
 * decides whether Temporal retries, and the text the user reads.
 *
 * Pure and deterministic: workflow code imports it too.
 */

export const ERROR_KINDS = {
  // Permanent: retrying cannot help, fail after one attempt.
  NotFound: { retryable: false, message: 'the page or file does not exist (HTTP 404/410)' },
  Unavailable: { retryable: false, message: 'the video has been removed or is unavailable' },
  Private: { retryable: false, message: 'the video is private or needs a login' },
  GeoBlocked: { retryable: false, message: 'the video is not available in this server\'s country' },
  Unsupported: { retryable: false, message: 'no video was found at this link (unsupported site or page)' },
  NoFormats: { retryable: false, message: 'the site offers no downloadable format for this video' },
  Forbidden: { retryable: false, message: 'the server refused access (HTTP 401/451)' },
  StorageUnusable: { retryable: false, message: 'the download directory cannot be used on the server (check DOWNLOAD_DIR)' },
  // Transient: retried with exponential backoff.
  Network: { retryable: true, message: 'the site could not be reached (network error or timeout)' },
  ServerError: { retryable: true, message: 'the site kept answering with server errors' },
  RateLimited: { retryable: true, message: 'the site is rate-limiting downloads' },
  DiskFull: { retryable: true, message: 'the download disk is full' },
  Interrupted: { retryable: true, message: 'the downloader was interrupted' },
  Unknown: { retryable: true, message: 'the downloader failed for an unexpected reason' },
} as const satisfies Record<string, { retryable: boolean; message: string }>;

export type ErrorKind = keyof typeof ERROR_KINDS;

/** The failure type the disk check uses while it waits for space. */
export const DISK_LOW = 'DiskLow';

export interface Classified {
  kind: ErrorKind;
  retryable: boolean;
  /** A sentence for the user. */
  message: string;
  /** The most telling line of the tool's own output, for logs and operators. */
  detail: string;
}

// Order matters: the first rule that matches wins, most specific first.
const RULES: Array<[RegExp, ErrorKind]> = [
  [/No space left on device|Errno 28|ENOSPC|Disk quota exceeded/i, 'DiskFull'],
  [/HTTP Error (404|410)\b/i, 'NotFound'],
  [/HTTP Error 429\b|Too Many Requests|rate.?limit/i, 'RateLimited'],
  [/HTTP Error (401|451)\b/i, 'Forbidden'],
  [/HTTP Error (5\d\d)\b/i, 'ServerError'],
  [/HTTP Error (408|403)\b/i, 'Network'],
  [/Private video|This video is private|members.only|Sign in to confirm your age|age.restricted|login required|requires? (a )?login|account.*(private|needed)|cookies.*(needed|required)/i, 'Private'],
  [/not available in your country|not made this video available in your country|geo.?restrict|blocked it in your country/i, 'GeoBlocked'],
  [/Video unavailable|This video is unavailable|has been removed|no longer available|does not exist|video (was|has been) deleted|account.*terminated|This post is unavailable|content isn't available/i, 'Unavailable'],
  [/Requested format is not available|No video formats found|no suitable formats|There's no video in this/i, 'NoFormats'],
  [/Unsupported URL|is not a valid URL|No video could be found|Unable to extract/i, 'Unsupported'],
  [/timed? ?out|Connection (refused|reset|aborted)|Errno (101|104|110|111|113)|Name or service not known|Temporary failure in name resolution|getaddrinfo|Remote end closed|IncompleteRead|urlopen error|SSL|EOF occurred|Network is unreachable|ContentTooShort|Downloaded \d+ bytes, expected \d+ bytes|content too short|Did not get any data blocks/i, 'Network'],
];

/** Drops yt-dlp's "please report this issue" boilerplate from an error line. */
function tidy(line: string): string {
  return line
    .replace(/;?\s*please report this issue on.*$/i, '')
    .replace(/\s+\(caused by .*$/i, '')
    .replace(/^ERROR:\s*/, '')
    .trim();
}

/**
 * Classifies a failed yt-dlp run from its stderr and exit status. Error lines
 * are read last-first: yt-dlp's final ERROR line is the one that ended the run.
 */
export function classifyYtDlpFailure(stderr: string, exit: { code: number | null; signal: string | null }): Classified {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('ERROR:'));
  const candidates = [...errors.reverse(), ...lines.slice().reverse()];
  for (const line of candidates) {
    for (const [pattern, kind] of RULES) {
      if (pattern.test(line)) return make(kind, tidy(line));
    }
  }
  if (exit.signal) return make('Interrupted', `yt-dlp was stopped by ${exit.signal}`);
  const last = errors[0] ?? lines.at(-1) ?? `yt-dlp exited with code ${exit.code}`;
  return make('Unknown', tidy(last));
}

export function make(kind: ErrorKind, detail: string): Classified {
  const { retryable, message } = ERROR_KINDS[kind];
  return { kind, retryable, message, detail: detail.slice(0, 500) };
}

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_KINDS, value);
}
