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
  PrivateAddress: { retryable: false, message: 'the link leads to a private or internal address, which this server does not fetch' },
  Playlist: {
    retryable: false,
    message: 'this link is a playlist or a page with several videos; playlists are not supported yet, so send the links of the single videos',
  },
  TooLarge: { retryable: false, message: 'the file is larger than this server accepts (MAX_FILE_SIZE)' },
  NotMedia: { retryable: false, message: 'the link answers with a web page or a document, not a media file' },
  UnsafeFile: { retryable: false, message: 'the site sent a file type this server does not keep (not a video, audio or subtitle file)' },
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

/** A system error that says the disk (or the user's quota) is full. */
export function isDiskFullError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export interface Classified {
  kind: ErrorKind;
  retryable: boolean;
  /** A sentence for the user. */
  message: string;
  /** The most telling line of the tool's own output, for logs and operators. */
  detail: string;
}

/** A test on one output line, given in lower case. Plain substring searches: no rule can backtrack. */
type Rule = [test: (lower: string) => boolean, kind: ErrorKind];

/** True when the line contains any of `phrases`. */
const any =
  (...phrases: string[]) =>
  (lower: string) =>
    phrases.some((p) => lower.includes(p));

/** True when `first` occurs and one of `then` occurs somewhere after it ("account ... terminated"). */
const followedBy =
  (first: string, ...then: string[]) =>
  (lower: string) => {
    const at = lower.indexOf(first);
    return at !== -1 && then.some((p) => lower.indexOf(p, at + first.length) !== -1);
  };

/** The HTTP status codes named as "HTTP Error 404" in a line. */
function httpStatuses(lower: string): number[] {
  const found: number[] = [];
  for (let at = lower.indexOf('http error '); at !== -1; at = lower.indexOf('http error ', at + 1)) {
    const code = lower.slice(at + 11, at + 14);
    if (/^\d{3}$/.test(code) && !/\w/.test(lower[at + 14] ?? '')) found.push(Number(code));
  }
  return found;
}

const httpError =
  (test: (status: number) => boolean) =>
  (lower: string) =>
    lower.includes('http error ') && httpStatuses(lower).some(test);
const is = (...codes: number[]) => (status: number) => codes.includes(status);

// Order matters: the first rule that matches wins. Status codes come first: they
// are structured, while the words after them (a server's reason phrase) are not ours.
const RULES: Rule[] = [
  [httpError(is(404, 410)), 'NotFound'],
  [httpError(is(429)), 'RateLimited'],
  [httpError(is(401, 451)), 'Forbidden'],
  [httpError((status) => status >= 500 && status <= 599), 'ServerError'],
  [httpError(is(408, 403)), 'Network'],
  [(l) => /errno (28|122)\b/.test(l) || any('no space left on device', 'enospc', 'disk quota exceeded')(l), 'DiskFull'],
  [any('larger than max-filesize'), 'TooLarge'],
  [followedBy('extracted extension', 'unusual', 'skipped for safety'), 'UnsafeFile'],
  [(l) => l.includes('too many requests') || /rate.?limit/.test(l), 'RateLimited'],
  [
    (l) =>
      any('private video', 'this video is private', 'sign in to confirm your age', 'login required', 'require login', 'requires login', 'requires a login', 'require a login')(l) ||
      /members.only|age.restricted/.test(l) ||
      followedBy('account', 'private', 'needed')(l) ||
      followedBy('cookies', 'needed', 'required')(l),
    'Private',
  ],
  [(l) => any('not available in your country', 'not made this video available in your country', 'blocked it in your country')(l) || /geo.?restrict/.test(l), 'GeoBlocked'],
  [
    (l) =>
      any('video unavailable', 'this video is unavailable', 'has been removed', 'no longer available', 'does not exist', 'this post is unavailable', "content isn't available")(l) ||
      /video (was|has been) deleted/.test(l) ||
      followedBy('account', 'terminated')(l),
    'Unavailable',
  ],
  [any('requested format is not available', 'no video formats found', 'no suitable formats', "there's no video in this"), 'NoFormats'],
  [any('unsupported url', 'is not a valid url', 'no video could be found', 'unable to extract'), 'Unsupported'],
  [
    (l) =>
      /timed? ?out|errno (101|104|110|111|113)\b|connection (refused|reset|aborted)/.test(l) ||
      any('name or service not known', 'temporary failure in name resolution', 'getaddrinfo', 'remote end closed', 'incompleteread', 'urlopen error', 'ssl', 'eof occurred', 'network is unreachable', 'contenttooshort', 'content too short', 'did not get any data blocks')(l) ||
      /downloaded \d+ bytes, expected \d+ bytes/.test(l),
    'Network',
  ],
];

/**
 * The part of an output line yt-dlp wrote itself, lower-cased: "ERROR: [youtube]
 * <id>: Video unavailable" becomes "video unavailable". The ID comes from the
 * link, so words in it ("members-only", "no space left") must not decide the kind.
 */
function ownWords(line: string): string {
  let text = line.startsWith('ERROR:') ? line.slice('ERROR:'.length).trimStart() : line;
  const bracket = /^\[[\w:.-]{1,40}\] /.exec(text);
  if (bracket) {
    text = text.slice(bracket[0].length);
    const colon = text.indexOf(': ');
    if (colon !== -1) text = text.slice(colon + 2);
  }
  return text.toLowerCase();
}

/** Each output line is judged by at most this many characters: the message is at its start. */
const MAX_LINE_CHARS = 4096;
/** Only the end of each stream is read: the line that ended the run is among its last. */
const MAX_LINES = 400;

/** Drops yt-dlp's "please report this issue" boilerplate and the Python cause from an error line. */
function tidy(line: string): string {
  let out = line.startsWith('ERROR:') ? line.slice('ERROR:'.length).trimStart() : line;
  const lower = out.toLowerCase();
  for (const noise of ['please report this issue on', '(caused by ']) {
    const at = lower.indexOf(noise);
    if (at !== -1 && at < out.length) out = out.slice(0, at);
  }
  out = out.trimEnd();
  return out.endsWith(';') ? out.slice(0, -1).trimEnd() : out;
}

/**
 * Classifies a failed yt-dlp run from its stderr (and the notices it printed on
 * stdout) and its exit status. Error lines are read last-first: yt-dlp's final
 * ERROR line is the one that ended the run. Linear in the size of the output.
 */
export function classifyYtDlpFailure(stderr: string, exit: { code: number | null; signal: string | null }, stdoutNotices = ''): Classified {
  // 101: a --break-match-filters rule stopped the run; ours refuses playlist entries.
  if (exit.code === 101) return make('Playlist', 'yt-dlp reported a playlist; stopped before downloading its entries');
  const lastLines = (text: string) => text.split('\n').slice(-MAX_LINES);
  const lines = [...lastLines(stderr), ...lastLines(stdoutNotices)].map((l) => l.slice(0, MAX_LINE_CHARS).trim()).filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('ERROR:'));
  const candidates = [...errors.slice().reverse(), ...lines.slice().reverse()];
  for (const line of candidates) {
    const lower = ownWords(line);
    for (const [test, kind] of RULES) {
      if (test(lower)) return make(kind, tidy(line));
    }
  }
  if (exit.signal) return make('Interrupted', `yt-dlp was stopped by ${exit.signal}`);
  const last = errors.at(-1) ?? lines.at(-1) ?? `yt-dlp exited with code ${exit.code}`;
  return make('Unknown', tidy(last));
}

export function make(kind: ErrorKind, detail: string): Classified {
  const { retryable, message } = ERROR_KINDS[kind];
  return { kind, retryable, message, detail: detail.slice(0, 500) };
}

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_KINDS, value);
}
