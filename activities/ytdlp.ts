import path from 'node:path';
import type { DownloadMode } from '../domain/downloads/definitions';
import { DEFAULT_AUDIO_FORMAT, type DownloadOptions } from '../domain/downloads/options';
import { truncate } from '../lib/text';

/**
 * How we talk to yt-dlp: the arguments we pass and the lines we read back.
 * Kept apart from the activity so the parsing is tested without a process.
 */

export const PROGRESS_MARK = 'MEDIADL_PROGRESS';
export const RESULT_MARK = 'MEDIADL_RESULT';
export const TITLE_MARK = 'MEDIADL_TITLE';
/** Partial files live here, out of sight of people browsing DOWNLOAD_DIR. */
export const INCOMPLETE_DIR = '.incomplete';

/** What the installed yt-dlp can do beyond what every supported version can (read from its --help). */
export interface YtDlpFeatures {
  /** `--js-runtimes` (2025.11.12+): YouTube needs a JavaScript runtime; we offer the worker's own Node. */
  jsRuntimes: boolean;
  /** `--no-quiet` (2023.07+): keeps yt-dlp's notices (e.g. "larger than max-filesize") despite --print. */
  noQuiet: boolean;
}

export const NO_EXTRA_FEATURES: YtDlpFeatures = { jsRuntimes: false, noQuiet: false };

export interface YtDlpOptions {
  url: string;
  /** Where the finished file goes (DOWNLOAD_DIR or a playlist's folder in it). */
  targetDir: string;
  /** Where partial files wait between attempts. */
  incompleteDir: string;
  /** Makes the file name unique per content; hex only, so safe in a file name. */
  uniqueSuffix: string;
  mode: DownloadMode;
  socketTimeoutSeconds: number;
  /** MAX_FILE_SIZE: yt-dlp skips a file it knows to be larger. */
  maxFileSizeBytes: number;
  features: YtDlpFeatures;
  /** The Node.js binary yt-dlp may use as its JavaScript runtime. */
  nodePath: string;
  /** Height cap, container and audio format the request settled on. */
  options?: DownloadOptions;
  /** SKIP_HLS and SKIP_DASH: streaming protocols never to take. */
  skip?: { hls: boolean; dash: boolean };
  /** A private copy of COOKIES_FILE for this run: yt-dlp writes its cookie jar back to the file it is given. */
  cookiesFile?: string;
  /** USE_ARIA2C: plain HTTP(S) formats go through aria2c with this many connections. */
  aria2c?: { connections: number };
}

/**
 * The format choice for a request: yt-dlp's `-f` expression (none when yt-dlp's
 * own default fits) and what it merges or converts into.
 */
export function formatArgs(mode: DownloadMode, options: DownloadOptions = {}, skip = { hls: false, dash: false }): string[] {
  const protocols = `${skip.hls ? '[protocol!*=m3u8]' : ''}${skip.dash ? '[protocol!*=dash]' : ''}`;
  if (mode === 'audio') {
    return [
      ...(protocols ? ['-f', `ba${protocols}/b${protocols}`] : []),
      '--extract-audio',
      '--audio-format',
      options.audioFormat ?? DEFAULT_AUDIO_FORMAT,
    ];
  }
  const height = options.maxHeight ? `[height<=${options.maxHeight}]` : '';
  const args: string[] = [];
  // bv*[height<=H]+ba/b[height<=H]/b: the best picture under the cap with the best
  // sound, else the best single file under it, else whatever the site has.
  if (height) args.push('-f', `bv*${height}${protocols}+ba${protocols}/b${height}${protocols}/b${protocols}`);
  else if (protocols) args.push('-f', `bv*${protocols}+ba${protocols}/b${protocols}`);
  if (options.container === 'webm') {
    // WebM holds only VP8/VP9/AV1 with Vorbis/Opus: prefer those, so merging needs no re-encoding.
    args.push('-S', 'ext:webm:webm', '--merge-output-format', 'webm');
  } else if (options.container) {
    // MP4 and Matroska take what sites serve: a single file is remuxed, two are merged.
    args.push('--merge-output-format', options.container, '--remux-video', options.container);
  }
  return args;
}

/**
 * Arguments for one download. No shell is involved and the URL comes after `--`,
 * so nothing in it can be read as an option.
 */
export function buildYtDlpArgs(o: YtDlpOptions): string[] {
  if (!/^[0-9a-f]{6,64}$/.test(o.uniqueSuffix)) throw new Error('uniqueSuffix must be hex');
  const args = [
    '--ignore-config', // an operator's ~/.config/yt-dlp must not change what we do
    '--no-playlist',
    '--newline',
    '--no-color',
    '--progress',
    '--continue', // a retry resumes the .part file left by the previous attempt
    '--no-mtime',
    '--restrict-filenames',
    '--socket-timeout',
    String(o.socketTimeoutSeconds),
    '--max-filesize',
    String(o.maxFileSizeBytes),
    // This workflow downloads one video. A page that turns out to be a playlist
    // (several <video> tags, a feed, a channel) stops with exit code 101 before
    // any entry is downloaded, instead of downloading them all and reporting one.
    '--break-match-filters',
    '!playlist_id',
    // Temporal owns retries across attempts; yt-dlp only smooths over short blips.
    '--retries',
    '2',
    '--fragment-retries',
    '3',
    '--paths',
    o.targetDir,
    '--paths',
    `temp:${o.incompleteDir}`,
    '--output',
    `%(title).120B-${o.uniqueSuffix}.%(ext)s`,
    '--progress-template',
    `download:${PROGRESS_MARK} %(progress.status)s %(progress.downloaded_bytes)s %(progress.total_bytes)s %(progress.total_bytes_estimate)s %(progress.speed)s %(progress.eta)s`,
    // The file first, on a line of bounded length, so a site cannot push it past
    // the line cap with a huge title; the title on its own line may be cut (then
    // the file name stands in for it). `extractor` is the extractor's name as its
    // error lines show it ("ERROR: [youtube:tab] ..."), so the monitoring files a
    // success and a failure of one downloader under the same name.
    '--print',
    `after_move:${RESULT_MARK} {"id":%(id)j,"filepath":%(filepath)j,"extractor":%(extractor)j}`,
    '--print',
    `after_move:${TITLE_MARK} %(title)j`,
  ];
  if (o.features.noQuiet) args.push('--no-quiet');
  if (o.features.jsRuntimes) args.push('--js-runtimes', `node:${o.nodePath}`);
  args.push(...formatArgs(o.mode, o.options, o.skip));
  if (o.cookiesFile) args.push('--cookies', o.cookiesFile);
  if (o.aria2c) {
    // "http" covers https too; HLS and DASH fragments stay with yt-dlp's own downloader.
    const n = String(o.aria2c.connections);
    args.push('--downloader', 'http:aria2c', '--downloader-args', `aria2c:-x ${n} -s ${n} -k 1M`);
  }
  args.push('--', o.url);
  return args;
}

export const ENTRY_MARK = 'MEDIADL_ENTRY';

export interface YtDlpProbeOptions {
  url: string;
  socketTimeoutSeconds: number;
  features: YtDlpFeatures;
  nodePath: string;
  /** Entries to list at most (ask for one more than you keep, to learn that there are more). */
  maxEntries: number;
  cookiesFile?: string;
}

/**
 * Arguments that list what a link holds without downloading anything: one line
 * per playlist entry (`--flat-playlist` does not open the entries' pages), or
 * one line for a single video.
 */
export function buildYtDlpProbeArgs(o: YtDlpProbeOptions): string[] {
  const args = [
    '--ignore-config',
    '--flat-playlist',
    '--no-color',
    '--socket-timeout',
    String(o.socketTimeoutSeconds),
    '--playlist-items',
    `1:${o.maxEntries}`,
    // Fields on their own, each as JSON: a site's text cannot break the line apart.
    '--print',
    `${ENTRY_MARK} {"url":%(url)j,"webpage":%(webpage_url)j,"title":%(title)j,"playlist":%(playlist_title)j,"playlistId":%(playlist_id)j}`,
  ];
  if (o.features.jsRuntimes) args.push('--js-runtimes', `node:${o.nodePath}`);
  if (o.cookiesFile) args.push('--cookies', o.cookiesFile);
  args.push('--', o.url);
  return args;
}

export interface EntryLine {
  url: string;
  title: string | null;
  playlistTitle: string | null;
  /** The line is an entry of a playlist (not a single video describing itself). */
  inPlaylist: boolean;
}

/** Longest entry URL kept: longer ones are not links people send (and would bloat the playlist's state). */
export const MAX_ENTRY_URL_CHARS = 4096;

/**
 * Reads one line of a probe: undefined when it is not an entry line, null when
 * it is one that cannot be read (cut by the line cap, or without a URL).
 */
export function parseEntryLine(line: string): EntryLine | null | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith(ENTRY_MARK)) return undefined;
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(trimmed.slice(ENTRY_MARK.length)) as Record<string, unknown>;
  } catch {
    return null;
  }
  const text = (field: unknown, max: number) => (typeof field === 'string' && field ? truncate(field, max) : null);
  const inPlaylist = typeof value.playlistId === 'string' || typeof value.playlistId === 'number';
  // A flat entry's "url" is the entry itself; a single video's is a media URL, its page is "webpage".
  const url = inPlaylist ? (value.url ?? value.webpage) : (value.webpage ?? value.url);
  if (typeof url !== 'string' || url === '' || url.length > MAX_ENTRY_URL_CHARS) return null;
  return { url, title: text(value.title, MAX_TITLE_CHARS), playlistTitle: text(value.playlist, MAX_TITLE_CHARS), inPlaylist };
}

// What yt-dlp and ffmpeg may see of the worker's environment: enough to find
// programs, certificates, a proxy and a home for caches, and never the bot
// token, database URLs or anything else the worker was started with.
const PASSED_ENVIRONMENT = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'TMPDIR',
  'TZ',
  'LANG',
  'LANGUAGE',
  'XDG_CACHE_HOME',
  'http_proxy',
  'https_proxy',
  'all_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'NO_PROXY',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'REQUESTS_CA_BUNDLE',
];

/** The environment yt-dlp runs with: the variables above (and LC_*) from `env`, plus unbuffered UTF-8 output. */
export function ytDlpEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const passed = Object.entries(env).filter(
    ([name, value]) => value !== undefined && (PASSED_ENVIRONMENT.includes(name) || name.startsWith('LC_')),
  );
  return { ...Object.fromEntries(passed), PYTHONUNBUFFERED: '1', PYTHONIOENCODING: 'utf-8' };
}

export interface Progress {
  status: 'downloading' | 'finished' | 'error';
  /** 0..100, or null while the total size is unknown. */
  percent: number | null;
  downloadedBytes: number | null;
  totalBytes: number | null;
  /** Bytes per second. */
  speed: number | null;
  etaSeconds: number | null;
}

function num(value: string | undefined): number | null {
  if (value === undefined || value === 'NA' || value === 'None' || value === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

const UNITS: Record<string, number> = {
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  TiB: 1024 ** 4,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
  TB: 1000 ** 4,
};

function bytes(amount: string, unit: string): number | null {
  const factor = UNITS[unit];
  return factor && /^\d+(\.\d+)?$/.test(amount) ? Math.round(Number(amount) * factor) : null;
}

function clock(text: string): number | null {
  const parts = text.split(':').map(Number);
  if (parts.some((p) => !Number.isFinite(p))) return null;
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

/** "45.3%" as a number, or null. */
function percentOf(token: string | undefined): number | null {
  const amount = token?.endsWith('%') ? token.slice(0, -1) : '';
  return /^\d+(\.\d+)?$/.test(amount) ? Number(amount) : null;
}

/** "10.00MiB" (or "1.00MiB/s" with `perSecond`) as bytes, or null. */
function sizeOf(token: string | undefined, perSecond = false): number | null {
  if (!token) return null;
  const text = perSecond ? (token.endsWith('/s') ? token.slice(0, -2) : '') : token;
  const unit = /[KMGT]i?B$|B$/.exec(text)?.[0];
  return unit ? bytes(text.slice(0, -unit.length), unit) : null;
}

/**
 * yt-dlp's default line, "[download]  45.3% of ~ 10.00MiB in 00:01 at 1.00MiB/s ETA 00:05",
 * read word by word: no pattern with nested repetition, so a long line costs linear time.
 */
function parseDefaultLine(trimmed: string): Progress | null {
  if (!trimmed.startsWith('[download]')) return null;
  const words = trimmed.split(/\s+/);
  const percent = percentOf(words[1]);
  if (percent === null || words[2] !== 'of') return null;
  let i = 3;
  if (words[i] === '~') i++;
  const totalBytes = sizeOf(words[i]?.replace(/^~/, ''));
  if (totalBytes === null) return null;
  i++;
  if (words[i] === 'in' && /^[\d:]+$/.test(words[i + 1] ?? '')) i += 2;
  let speed: number | null = null;
  if (words[i] === 'at') {
    if (words[i + 1] === 'Unknown')
      i += 3; // "Unknown B/s" or "Unknown speed"
    else {
      speed = sizeOf(words[i + 1], true);
      i += 2;
    }
  }
  const eta = words[i] === 'ETA' ? words[i + 1] : undefined;
  return {
    status: percent >= 100 ? 'finished' : 'downloading',
    percent,
    downloadedBytes: Math.round((totalBytes * percent) / 100),
    totalBytes,
    speed,
    etaSeconds: eta && /^[\d:]+$/.test(eta) ? clock(eta) : null,
  };
}

/**
 * Reads one progress line: our own template, or yt-dlp's default
 * "[download]  42.0% of 10.00MiB at 1.00MiB/s ETA 00:05" (which external
 * downloaders still print). Returns null for any other line.
 */
export function parseProgressLine(line: string): Progress | null {
  const trimmed = line.trim();
  if (trimmed.startsWith(PROGRESS_MARK)) {
    const [, status, done, total, estimate, speed, eta] = trimmed.split(/\s+/);
    if (status !== 'downloading' && status !== 'finished' && status !== 'error') return null;
    const downloadedBytes = num(done);
    const totalBytes = num(total) ?? num(estimate);
    const percent =
      status === 'finished' ? 100 : downloadedBytes !== null && totalBytes ? Math.min(100, (downloadedBytes / totalBytes) * 100) : null;
    const etaSeconds = num(eta);
    return {
      status,
      percent: percent === null ? null : Math.round(percent * 10) / 10,
      downloadedBytes,
      totalBytes: totalBytes === null ? null : Math.round(totalBytes),
      speed: num(speed),
      etaSeconds: etaSeconds === null ? null : Math.round(etaSeconds),
    };
  }
  return parseDefaultLine(trimmed);
}

export interface YtDlpResult {
  title: string;
  id: string;
  filepath: string;
  extractor: string | null;
}

/**
 * Longest strings we carry from yt-dlp into workflow payloads and messages: a
 * site controls them, and Temporal payloads have a size limit.
 */
export const MAX_TITLE_CHARS = 300;
const MAX_ID_CHARS = 200;
const MAX_EXTRACTOR_CHARS = 100;
/** Longer than any path we let yt-dlp write (255-byte names under DOWNLOAD_DIR). */
const MAX_FILEPATH_CHARS = 4096;

/** Reads the title line; null when it is not one, or was cut (by the line cap) into invalid JSON. */
export function parseTitleLine(line: string): string | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith(TITLE_MARK)) return null;
  try {
    const title: unknown = JSON.parse(trimmed.slice(TITLE_MARK.length));
    return typeof title === 'string' && title ? truncate(title, MAX_TITLE_CHARS) : null;
  } catch {
    return null;
  }
}

/** Reads the line yt-dlp prints once the file is in its final place (the title comes on its own line). */
export function parseResultLine(line: string): YtDlpResult | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith(RESULT_MARK)) return null;
  try {
    const value = JSON.parse(trimmed.slice(RESULT_MARK.length)) as Partial<YtDlpResult>;
    if (typeof value.filepath !== 'string' || value.filepath === '' || value.filepath.length > MAX_FILEPATH_CHARS) return null;
    const title = typeof value.title === 'string' && value.title ? value.title : path.basename(value.filepath);
    return {
      title: truncate(title, MAX_TITLE_CHARS),
      id: typeof value.id === 'string' ? truncate(value.id, MAX_ID_CHARS, '') : '',
      filepath: value.filepath,
      extractor: typeof value.extractor === 'string' ? truncate(value.extractor, MAX_EXTRACTOR_CHARS, '') : null,
    };
  } catch {
    return null;
  }
}
