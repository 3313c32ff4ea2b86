import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { classifyYtDlpFailure, make, type Classified } from '../../domain/downloads/errors';
import { extractorInError } from '../../domain/monitoring/attempts';
import { readBoundedLines } from '../../lib/bounded-lines';
import { findExecutable } from '../../lib/executables';
import type { Logger } from '../../lib/logger';
import type { ActivityDeps } from '../deps';
import {
  buildYtDlpArgs,
  buildYtDlpProbeArgs,
  parseEntryLine,
  parseProgressLine,
  parseResultLine,
  parseTitleLine,
  ytDlpEnvironment,
  type Progress,
  type YtDlpResult,
} from '../ytdlp';
import { SourceFailure, type DownloadSource, type Probe, type ProbedEntry } from './source';

// On Linux, setpriv (util-linux) makes the kernel kill yt-dlp if the worker dies,
// even by SIGKILL, so a retry on another worker never shares the partial file
// with an orphan still writing it. setpriv execs yt-dlp: same PID, same group.
// Old util-linux (before 2.33) and BusyBox have setpriv without --pdeathsig: try it once.
const SETPRIV = ((): string | null => {
  const found = process.platform === 'linux' ? findExecutable('setpriv') : null;
  if (!found) return null;
  return spawnSync(found, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 5_000 }).status === 0 ? found : null;
})();

/** The command that runs `executable args`, tied to this process's life where the OS allows. */
export function diesWithWorker(executable: string, args: string[]): { command: string; args: string[] } {
  return SETPRIV ? { command: SETPRIV, args: ['--pdeathsig', 'KILL', '--', executable, ...args] } : { command: executable, args };
}

/** How long yt-dlp gets to stop after SIGTERM before its whole process group is killed. */
const KILL_GRACE_MS = 5_000;
const STDERR_KEEP_CHARS = 64 * 1024;
/** Longest stdout line we hold; a site cannot make the worker buffer more (the excess is dropped). */
export const MAX_STDOUT_LINE_CHARS = 64 * 1024;
/**
 * yt-dlp's own notices on stdout that explain a run ending without a file. Only
 * these are kept: other stdout lines carry text a site chooses (titles, IDs),
 * which must not decide how a failure is classified.
 */
const EXPLAINING_NOTICES = ['[download] File is larger than max-filesize'];
const NOTICES_KEPT = 10;
const NOTICE_CHARS = 1_000;

export interface YtDlpRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** yt-dlp's last explaining notices on stdout (see EXPLAINING_NOTICES). */
  notices: string;
  result: YtDlpResult | null;
  spawnError: Error | null;
}

/**
 * Runs yt-dlp in its own process group (so ffmpeg and aria2c children die with
 * it), reports progress lines and other stdout lines, and kills the group when
 * `signal` aborts.
 */
export function runYtDlp(
  executable: string,
  args: string[],
  options: { signal: AbortSignal; onProgress: (p: Progress) => void; onLine?: (line: string) => void; log: Logger },
): Promise<YtDlpRun> {
  return new Promise((resolve) => {
    let stderr = '';
    const notices: string[] = [];
    let result: YtDlpResult | null = null;
    let title: string | null = null;
    let spawnError: Error | null = null;
    let killTimer: NodeJS.Timeout | undefined;

    const tied = diesWithWorker(executable, args);
    const child = spawn(tied.command, tied.args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: ytDlpEnvironment(),
    });

    const killGroup = (signal: NodeJS.Signals) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    const onAbort = () => {
      options.log.info('stopping yt-dlp');
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener('abort', onAbort, { once: true });

    readBoundedLines(child.stdout, MAX_STDOUT_LINE_CHARS, (line) => {
      const progress = parseProgressLine(line);
      if (progress) return options.onProgress(progress);
      const parsed = parseResultLine(line);
      const parsedTitle = parsed ? null : parseTitleLine(line);
      if (parsed) result = parsed;
      else if (parsedTitle) title = parsedTitle;
      // yt-dlp starts some notices with "\r" to clear a progress line.
      else if (EXPLAINING_NOTICES.some((notice) => line.trimStart().startsWith(notice))) {
        notices.push(line.trim().slice(0, NOTICE_CHARS));
        if (notices.length > NOTICES_KEPT) notices.shift();
      } else options.onLine?.(line);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
    });
    child.on('error', (err) => {
      spawnError = err;
    });
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      // yt-dlp has exited; anything it started (ffmpeg) and left behind goes with it.
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // The group is empty: the usual case.
        }
      }
      options.signal.removeEventListener('abort', onAbort);
      const withTitle = result && title ? { ...result, title } : result;
      resolve({ code, signal, stderr, notices: notices.join('\n'), result: withTitle, spawnError });
    });
  });
}

/** What the yt-dlp source uses. */
export type YtDlpSourceDeps = Pick<
  ActivityDeps,
  'ytDlpPath' | 'ytDlpFeatures' | 'socketTimeoutSeconds' | 'maxFileSizeBytes' | 'ytDlpSettings'
>;

/** Retryable: another worker may have yt-dlp where this one does not. */
function cannotStart(ytDlpPath: string, reason: string): SourceFailure {
  return new SourceFailure(make('Unknown', `cannot run yt-dlp at "${ytDlpPath}": ${reason} (check YTDLP_PATH)`));
}

/**
 * COOKIES_FILE stays read-only: yt-dlp writes its cookie jar back to the file it
 * is given, so each run gets a private copy (mode 600) that is removed after it.
 */
async function withCookiesCopy<T>(original: string | undefined, run: (copy: string | undefined) => Promise<T>): Promise<T> {
  if (!original) return run(undefined);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mediadl-cookies-'));
  const copy = path.join(dir, 'cookies.txt');
  try {
    await fs.copyFile(original, copy);
    await fs.chmod(copy, 0o600);
    return await run(copy);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** yt-dlp: every site it has an extractor for, and playlists, channels and feeds. Takes any link the sources before it did not. */
export function createYtDlpSource(deps: YtDlpSourceDeps): DownloadSource {
  const common = () => ({
    socketTimeoutSeconds: deps.socketTimeoutSeconds,
    features: deps.ytDlpFeatures,
    nodePath: process.execPath,
    skip: { hls: deps.ytDlpSettings.skipHls, dash: deps.ytDlpSettings.skipDash },
  });
  const executable = () => {
    const found = findExecutable(deps.ytDlpPath);
    if (!found) throw cannotStart(deps.ytDlpPath, 'not found or not executable');
    return found;
  };

  return {
    name: 'yt-dlp',

    accepts: async () => true,

    async probe(link, { maxEntries, signal, log }): Promise<Probe> {
      const ytDlp = executable();
      const entries: ProbedEntry[] = [];
      let playlistTitle: string | null = null;
      let unreadable = 0;
      let seen = 0;
      const run = await withCookiesCopy(deps.ytDlpSettings.cookiesFile, (cookiesFile) =>
        runYtDlp(ytDlp, buildYtDlpProbeArgs({ ...common(), url: link.url, maxEntries: maxEntries + 1, cookiesFile }), {
          signal,
          onProgress: () => undefined,
          onLine: (line) => {
            const entry = parseEntryLine(line);
            if (entry === undefined) return;
            seen += 1;
            if (entry === null) return void (unreadable += 1);
            playlistTitle ??= entry.playlistTitle;
            if (entry.inPlaylist) entries.push({ url: entry.url, title: entry.title });
          },
          log,
        }),
      );
      if (run.spawnError) throw cannotStart(deps.ytDlpPath, run.spawnError.message);
      if (run.code !== 0) throw new SourceFailure(classifyYtDlpFailure(run.stderr, run, run.notices));
      if (unreadable > 0) log.warn({ unreadable }, 'playlist entries yt-dlp printed that could not be read were skipped');
      // A single video prints one line of its own, outside any playlist; an empty playlist prints none.
      if (entries.length === 0 && seen === 1 && unreadable === 0) return { kind: 'single', title: null };
      return { kind: 'playlist', title: playlistTitle, entries: entries.slice(0, maxEntries), more: seen > maxEntries };
    },

    async download(job) {
      const { input, log } = job;
      const ytDlp = executable();
      const run = await withCookiesCopy(deps.ytDlpSettings.cookiesFile, (cookiesFile) =>
        runYtDlp(
          ytDlp,
          buildYtDlpArgs({
            ...common(),
            url: input.normalizedUrl,
            targetDir: job.targetDir,
            incompleteDir: job.incompleteDir,
            uniqueSuffix: job.suffix,
            mode: input.mode,
            options: input.options,
            maxFileSizeBytes: job.maxBytes,
            cookiesFile,
            aria2c: deps.ytDlpSettings.useAria2c ? { connections: deps.ytDlpSettings.aria2cConnections } : undefined,
          }),
          { signal: job.signal, onProgress: job.onProgress, log },
        ),
      );
      if (job.signal.aborted) throw new SourceFailure(make('Interrupted', 'yt-dlp was stopped'));
      if (run.spawnError) throw cannotStart(deps.ytDlpPath, run.spawnError.message);
      if (run.code !== 0 || !run.result) {
        let classified: Classified = classifyYtDlpFailure(run.stderr, run, run.notices);
        // Exit 0 without a file and without a notice that explains it: nothing to go on.
        if (run.code === 0 && classified.kind === 'Unknown') classified = make('Unknown', 'yt-dlp finished without reporting a file');
        throw new SourceFailure(classified, classified.message, extractorInError(run.stderr));
      }
      return { path: path.resolve(job.targetDir, run.result.filepath), title: run.result.title, extractor: run.result.extractor };
    },
  };
}
