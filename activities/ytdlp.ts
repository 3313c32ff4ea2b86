import path from 'node:path';
import type { DownloadMode } from '../lib/download-state';

/**
 * How we talk to yt-dlp: the arguments we pass and the lines we read back.
 * Kept apart from the activity so the parsing is tested without a process.
 */

export const PROGRESS_MARK = 'MEDIADL_PROGRESS';
export const RESULT_MARK = 'MEDIADL_RESULT';
/** Partial files live here, out of sight of people browsing DOWNLOAD_DIR. */
export const INCOMPLETE_DIR = '.incomplete';

export interface YtDlpOptions {
  url: string;
  downloadDir: string;
  /** Makes the file name unique per content; hex only, so safe in a file name. */
  uniqueSuffix: string;
  mode: DownloadMode;
  socketTimeoutSeconds: number;
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
    '--socket-timeout', String(o.socketTimeoutSeconds),
    // Temporal owns retries across attempts; yt-dlp only smooths over short blips.
    '--retries', '2',
    '--fragment-retries', '3',
    '--paths', o.downloadDir,
    '--paths', `temp:${path.join(o.downloadDir, INCOMPLETE_DIR)}`,
    '--output', `%(title).120B-${o.uniqueSuffix}.%(ext)s`,
    '--progress-template',
    `download:${PROGRESS_MARK} %(progress.status)s %(progress.downloaded_bytes)s %(progress.total_bytes)s %(progress.total_bytes_estimate)s %(progress.speed)s %(progress.eta)s`,
    '--print',
    `after_move:${RESULT_MARK} {"title":%(title)j,"id":%(id)j,"filepath":%(filepath)j,"extractor":%(extractor_key)j}`,
  ];
  if (o.mode === 'audio') args.push('--extract-audio', '--audio-format', 'mp3');
  args.push('--', o.url);
  return args;
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
  B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
  KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3, TB: 1000 ** 4,
};

function bytes(amount: string, unit: string): number | null {
  const factor = UNITS[unit];
  const n = Number(amount);
  return factor && Number.isFinite(n) ? Math.round(n * factor) : null;
}

function clock(text: string): number | null {
  const parts = text.split(':').map(Number);
  if (parts.some((p) => !Number.isFinite(p))) return null;
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

const DEFAULT_LINE =
  /^\[download\]\s+(\d+(?:\.\d+)?)%\s+of\s+~?\s*(\d+(?:\.\d+)?)([KMGT]i?B|B)(?:\s+in\s+[\d:]+)?(?:\s+at\s+(?:(\d+(?:\.\d+)?)([KMGT]i?B|B)\/s|Unknown (?:B\/s|speed)))?(?:\s+ETA\s+([\d:]+|Unknown))?/;

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
  const m = DEFAULT_LINE.exec(trimmed);
  if (!m) return null;
  const percent = Number(m[1]);
  const totalBytes = bytes(m[2]!, m[3]!);
  return {
    status: percent >= 100 ? 'finished' : 'downloading',
    percent,
    downloadedBytes: totalBytes === null ? null : Math.round((totalBytes * percent) / 100),
    totalBytes,
    speed: m[4] ? bytes(m[4], m[5]!) : null,
    etaSeconds: m[6] && m[6] !== 'Unknown' ? clock(m[6]) : null,
  };
}

export interface YtDlpResult {
  title: string;
  id: string;
  filepath: string;
  extractor: string | null;
}

/** Reads the line yt-dlp prints once the file is in its final place. */
export function parseResultLine(line: string): YtDlpResult | null {
  const trimmed = line.trim();
  if (!trimmed.startsWith(RESULT_MARK)) return null;
  try {
    const value = JSON.parse(trimmed.slice(RESULT_MARK.length)) as Partial<YtDlpResult>;
    if (typeof value.filepath !== 'string' || value.filepath === '') return null;
    return {
      title: typeof value.title === 'string' && value.title ? value.title : path.basename(value.filepath),
      id: typeof value.id === 'string' ? value.id : '',
      filepath: value.filepath,
      extractor: typeof value.extractor === 'string' ? value.extractor : null,
    };
  } catch {
    return null;
  }
}
