import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { readBoundedLines } from '../lib/bounded-lines';
import { checkDestination, describeRefusal, UnresolvedHostError, type Refusal } from '../domain/downloads/destinations';
import { classifyYtDlpFailure, make, type Classified } from '../domain/downloads/errors';
import { findExecutable } from '../lib/executables';
import type { Logger } from '../lib/logger';
import { humanSize } from '../domain/downloads/messages';
import type { DownloadedFile, DownloadInput } from '../domain/downloads/definitions';
import { inActivityScope } from './activity-scope';
import type { ActivityDeps } from './deps';
import { finalizeFile, removeUnverifiedFiles } from './file-names';
import {
  buildYtDlpArgs,
  INCOMPLETE_DIR,
  parseProgressLine,
  parseResultLine,
  parseTitleLine,
  ytDlpEnvironment,
  type Progress,
  type YtDlpResult,
} from './ytdlp';

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
 * Runs yt-dlp in its own process group (so ffmpeg children die with it), reports
 * progress lines, and kills the group when `signal` aborts.
 */
export function runYtDlp(
  executable: string,
  args: string[],
  options: { signal: AbortSignal; onProgress: (p: Progress) => void; log: Logger },
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
      }
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

/** The failure Temporal sees; `message` (what the user reads) may be more specific than the kind's own. */
function failure(classified: Classified, message = classified.message): ApplicationFailure {
  return ApplicationFailure.create({
    type: classified.kind,
    message,
    nonRetryable: !classified.retryable,
    details: [{ detail: classified.detail }],
  });
}

/** What the download activities use. */
export type DownloadActivityDeps = Pick<
  ActivityDeps,
  | 'db'
  | 'logger'
  | 'downloadDir'
  | 'ytDlpPath'
  | 'ytDlpFeatures'
  | 'socketTimeoutSeconds'
  | 'maxFileSizeBytes'
  | 'destinations'
  | 'resolveHost'
  | 'proxyResolvesHosts'
  | 'heartbeatEveryMs'
>;

export function createDownloadActivities(deps: DownloadActivityDeps) {
  return {
    /**
     * Removes what a cancelled download leaves: its partial files, and any final
     * file written since it started that was never reported as finished.
     */
    async discardDownload(input: DownloadInput, startedAt: number): Promise<string[]> {
      return inActivityScope(deps.logger, input.correlationId, async (log) => {
        const removed = await removeUnverifiedFiles(deps.downloadDir, input.contentKey.slice(0, 12), new Date(startedAt), {
          partials: true,
        });
        log.info({ removed }, 'cancelled download: its files are removed');
        return removed;
      });
    },

    /**
     * Downloads one URL with yt-dlp into DOWNLOAD_DIR. Heartbeats carry progress;
     * a retry resumes the partial file; permanent failures are non-retryable.
     */
    async download(input: DownloadInput): Promise<DownloadedFile> {
      const ctx = Context.current();
      return inActivityScope(deps.logger, input.correlationId, async (log) => {
        const attempt = ctx.info.attempt;
        const startedAt = new Date();
        const suffix = input.contentKey.slice(0, 12);
        log.info({ url: input.normalizedUrl }, 'download attempt starting');
        // The record mirrors Temporal's state; a database outage must not cost a download attempt.
        await deps.db.download
          .updateMany({
            where: { contentKey: input.contentKey },
            data: { state: 'downloading', attempts: attempt, ...(attempt === 1 ? { startedAt } : {}) },
          })
          .catch((err: unknown) => log.error({ err }, 'could not record download start'));

        await refuseForbiddenDestination(input.normalizedUrl, deps, log);

        await fs.mkdir(path.join(deps.downloadDir, INCOMPLETE_DIR), { recursive: true });
        const args = buildYtDlpArgs({
          url: input.normalizedUrl,
          downloadDir: deps.downloadDir,
          uniqueSuffix: suffix,
          mode: input.mode,
          socketTimeoutSeconds: deps.socketTimeoutSeconds,
          maxFileSizeBytes: deps.maxFileSizeBytes,
          features: deps.ytDlpFeatures,
          nodePath: process.execPath,
        });

        // Retryable: another worker may have yt-dlp where this one does not.
        const cannotStart = (reason: string) => {
          const classified = make('Unknown', `cannot run yt-dlp at "${deps.ytDlpPath}": ${reason} (check YTDLP_PATH)`);
          log.error({ detail: classified.detail }, 'yt-dlp could not be started');
          return failure(classified);
        };
        const ytDlp = findExecutable(deps.ytDlpPath);
        if (!ytDlp) throw cannotStart('not found or not executable');

        // yt-dlp enforces --max-filesize only for sizes a server announces; a
        // stream without Content-Length is stopped here as it passes the limit.
        const overLimit = new AbortController();
        let latest: Progress | null = null;
        const beat = () => ctx.heartbeat(latest ? { ...latest } : { status: 'starting' });
        beat();
        const ticker = setInterval(beat, deps.heartbeatEveryMs);
        let run: YtDlpRun;
        try {
          run = await runYtDlp(ytDlp, args, {
            signal: AbortSignal.any([ctx.cancellationSignal, overLimit.signal]),
            onProgress: (p) => {
              latest = p;
              if ((p.downloadedBytes ?? 0) > deps.maxFileSizeBytes) overLimit.abort();
            },
            log,
          });
        } finally {
          clearInterval(ticker);
        }

        if (ctx.cancellationSignal.aborted) {
          throw ctx.cancellationSignal.reason instanceof Error ? ctx.cancellationSignal.reason : new CancelledFailure('download cancelled');
        }
        const tooLarge = async (detail: string) => {
          const removed = await removeUnverifiedFiles(deps.downloadDir, suffix, startedAt, { partials: true });
          const classified = make('TooLarge', detail);
          log.warn({ detail, removed }, 'download refused: larger than MAX_FILE_SIZE');
          return failure(classified, userMessage(classified, deps.maxFileSizeBytes));
        };
        if (overLimit.signal.aborted) throw await tooLarge(`stopped after more than ${deps.maxFileSizeBytes} bytes`);
        if (run.spawnError) throw cannotStart(run.spawnError.message);
        if (run.code !== 0 || !run.result) {
          // Whatever yt-dlp wrote without telling us is unchecked (name, type, size): it goes.
          const removed = await removeUnverifiedFiles(deps.downloadDir, suffix, startedAt, { partials: false });
          let classified = classifyYtDlpFailure(run.stderr, run, run.notices);
          // Exit 0 without a file and without a notice that explains it: nothing to go on.
          if (run.code === 0 && classified.kind === 'Unknown') classified = make('Unknown', 'yt-dlp finished without reporting a file');
          log.warn(
            { kind: classified.kind, retryable: classified.retryable, detail: classified.detail, exitCode: run.code, removed },
            'download attempt failed',
          );
          throw failure(classified, userMessage(classified, deps.maxFileSizeBytes));
        }

        const final = await finalizeFile(deps.downloadDir, run.result.filepath);
        if (!final.ok) {
          const classified = make(final.reason === 'extension' ? 'UnsafeFile' : 'Unknown', final.detail);
          log.warn({ kind: classified.kind, detail: classified.detail }, 'downloaded file refused');
          throw failure(classified);
        }
        const stats = await fs.stat(path.join(deps.downloadDir, final.relativePath));
        if (stats.size > deps.maxFileSizeBytes) throw await tooLarge(`the finished file has ${stats.size} bytes`);
        const file: DownloadedFile = { title: run.result.title, filePath: final.relativePath, sizeBytes: stats.size };
        log.info({ file: file.filePath, sizeBytes: file.sizeBytes }, 'download finished');
        return file;
      });
    },
  };
}

/**
 * Refuses (permanently) a link whose host is or resolves to a private or
 * internal address. The bot checked at intake; names can resolve differently
 * now, and this worker's own policy is the one that counts. A name that does
 * not resolve fails the attempt retryably, unless a proxy does the resolving.
 */
async function refuseForbiddenDestination(url: string, deps: DownloadActivityDeps, log: Logger): Promise<void> {
  let refusal: Refusal | null;
  try {
    refusal = await checkDestination(new URL(url).hostname, deps.destinations, deps.resolveHost, { failClosed: !deps.proxyResolvesHosts });
  } catch (err) {
    if (!(err instanceof UnresolvedHostError)) throw err;
    log.warn({ host: err.host }, 'download attempt failed: host does not resolve');
    throw failure(make('Network', err.message));
  }
  if (!refusal) return;
  const classified = make('PrivateAddress', describeRefusal(refusal));
  log.warn({ address: refusal.address, category: refusal.category }, 'download refused: private or internal destination');
  throw failure(classified, classified.detail);
}

/** What the user reads for a failed attempt: the kind's sentence, made specific where we know more. */
function userMessage(classified: Classified, maxFileSizeBytes: number): string {
  if (classified.kind === 'TooLarge') return `the file is larger than this server accepts (${humanSize(maxFileSizeBytes)})`;
  return classified.message;
}
