import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { checkDestination, describeRefusal, UnresolvedHostError, type Refusal } from '../domain/downloads/destinations';
import { isDiskFullError, make, type Classified } from '../domain/downloads/errors';
import type { Logger } from '../lib/logger';
import { humanSize } from '../domain/downloads/messages';
import { downloaderOf, trimError } from '../domain/monitoring/attempts';
import { newAttemptId } from '../domain/monitoring/health';
import type { DownloadedFile, DownloadInput } from '../domain/downloads/definitions';
import { inActivityScope } from './activity-scope';
import type { ActivityDeps } from './deps';
import { finalizeFile, removeUnverifiedFiles } from './file-names';
import { createSources, SourceFailure, sourceFor, type DownloadSource, type SourceFile } from './sources';
import { INCOMPLETE_DIR, type Progress } from './ytdlp';

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
  | 'ytDlpSettings'
  | 'socketTimeoutSeconds'
  | 'maxFileSizeBytes'
  | 'destinations'
  | 'resolveHost'
  | 'proxyResolvesHosts'
  | 'heartbeatEveryMs'
  | 'directSource'
  | 'attempts'
  | 'activeAttempts'
> & {
  /** The download sources, in the order they are asked (the registry's by default). */
  sources?: DownloadSource[];
};

/** The folder a download's finished file goes to: DOWNLOAD_DIR, or a playlist's folder inside it. */
export function targetDirOf(downloadDir: string, input: Pick<DownloadInput, 'folder'>): string {
  const target = path.resolve(downloadDir, input.folder ?? '.');
  // Folder names are made safe where they are chosen; this only keeps a bad one from escaping.
  return target === downloadDir || target.startsWith(`${downloadDir}${path.sep}`) ? target : downloadDir;
}

export function createDownloadActivities(deps: DownloadActivityDeps) {
  const sources = deps.sources ?? createSources(deps);
  return {
    /**
     * Removes what a cancelled download leaves: its partial files, and any final
     * file written since it started that was never reported as finished.
     */
    async discardDownload(input: DownloadInput, startedAt: number): Promise<string[]> {
      return inActivityScope(deps.logger, input.correlationId, async (log) => {
        const removed = await removeUnverifiedFiles(deps.downloadDir, input.contentKey.slice(0, 12), new Date(startedAt), {
          partials: true,
          folder: input.folder,
        });
        log.info({ removed }, 'cancelled download: its files are removed');
        return removed;
      });
    },

    /**
     * Downloads one link into DOWNLOAD_DIR with the first source that takes it
     * (direct HTTP for plain media files, else yt-dlp). Heartbeats carry
     * progress; a retry resumes the partial file; permanent failures are
     * non-retryable.
     */
    async download(input: DownloadInput): Promise<DownloadedFile> {
      const ctx = Context.current();
      // What the attempt used, for its record in the monitoring history.
      const used: { source: string | null; extractor: string | null } = { source: null, extractor: null };
      const startedAt = new Date();
      const record = (outcome: { success: true; bytes: number } | { success: false; errorKind: string; error: string }) =>
        deps.attempts?.record({
          id: newAttemptId(),
          contentKey: input.contentKey,
          workflowId: ctx.info.workflowExecution?.workflowId ?? '',
          attempt: ctx.info.attempt,
          source: used.source,
          downloader: downloaderOf({ ...used, platform: input.platform }),
          platform: input.platform,
          url: input.normalizedUrl,
          requestedBy: null,
          startedAt: startedAt.toISOString(),
          finishedAt: new Date().toISOString(),
          success: outcome.success,
          bytes: outcome.success ? outcome.bytes : null,
          errorKind: outcome.success ? null : outcome.errorKind,
          error: outcome.success ? null : trimError(outcome.error),
        });
      const ended = deps.activeAttempts?.attemptStarted();
      try {
        const file = await attemptDownload(input, ctx, startedAt, used);
        record({ success: true, bytes: file.sizeBytes });
        return { ...file, downloader: downloaderOf({ ...used, platform: input.platform }) };
      } catch (err) {
        record({ success: false, errorKind: attemptErrorKind(err, ctx), error: err instanceof Error ? err.message : String(err) });
        throw withDownloader(err, downloaderOf({ ...used, platform: input.platform }));
      } finally {
        ended?.();
      }
    },
  };

  /** One attempt: the download itself. `used` learns the source and extractor as they are known. */
  async function attemptDownload(
    input: DownloadInput,
    ctx: Context,
    startedAt: Date,
    used: { source: string | null; extractor: string | null },
  ): Promise<DownloadedFile> {
    return inActivityScope(deps.logger, input.correlationId, async (log) => {
      const attempt = ctx.info.attempt;
      const suffix = input.contentKey.slice(0, 12);
      const targetDir = targetDirOf(deps.downloadDir, input);
      // The record mirrors Temporal's state; a database outage must not cost a download attempt.
      await deps.db.download
        .updateMany({
          where: { contentKey: input.contentKey },
          data: { state: 'downloading', attempts: attempt, ...(attempt === 1 ? { startedAt } : {}) },
        })
        .catch((err: unknown) => log.error({ err }, 'could not record download start'));

      await refuseForbiddenDestination(input.normalizedUrl, deps, log);
      await fs.mkdir(path.join(deps.downloadDir, INCOMPLETE_DIR), { recursive: true });
      await fs.mkdir(targetDir, { recursive: true });

      const link = { url: input.normalizedUrl, platform: input.platform, mode: input.mode, options: input.options };
      // The smaller of MAX_FILE_SIZE and the request's own cap (a trial user's).
      const maxBytes = Math.min(deps.maxFileSizeBytes, input.options?.maxBytes ?? Infinity);
      const source = await sourceFor(sources, link, log);
      used.source = source.name;
      log.info({ url: input.normalizedUrl, source: source.name }, 'download attempt starting');

      // A source enforces sizes announced to it; a stream without one is stopped
      // here as it passes the limit.
      const overLimit = new AbortController();
      let latest: Progress | null = null;
      const beat = () => ctx.heartbeat({ source: source.name, ...(latest ?? { status: 'starting' }) });
      beat();
      const ticker = setInterval(beat, deps.heartbeatEveryMs);
      let file: SourceFile;
      try {
        file = await source.download({
          input,
          targetDir,
          incompleteDir: path.join(deps.downloadDir, INCOMPLETE_DIR),
          suffix,
          maxBytes,
          signal: AbortSignal.any([ctx.cancellationSignal, overLimit.signal]),
          onProgress: (p) => {
            latest = p;
            if ((p.downloadedBytes ?? 0) > maxBytes) overLimit.abort();
          },
          log,
        });
      } catch (err) {
        if (ctx.cancellationSignal.aborted) throw cancellationOf(ctx);
        if (overLimit.signal.aborted) throw await tooLarge(`stopped after more than ${maxBytes} bytes`);
        if (!(err instanceof SourceFailure)) throw err;
        used.extractor = err.extractor;
        const classified = err.classified;
        // Whatever the source wrote without telling us is unchecked (name, type, size): it goes.
        const removed = await removeUnverifiedFiles(deps.downloadDir, suffix, startedAt, {
          partials: classified.kind === 'TooLarge',
          folder: input.folder,
        });
        log.warn(
          { source: source.name, kind: classified.kind, retryable: classified.retryable, detail: classified.detail, removed },
          'download attempt failed',
        );
        throw failure(classified, userMessage(classified, maxBytes, err.message));
      } finally {
        clearInterval(ticker);
      }
      if (ctx.cancellationSignal.aborted) throw cancellationOf(ctx);
      used.extractor = file.extractor ?? null;

      const final = await finalizeFile(deps.downloadDir, file.path);
      if (!final.ok) {
        const classified = make(final.reason === 'extension' ? 'UnsafeFile' : 'Unknown', final.detail);
        log.warn({ kind: classified.kind, detail: classified.detail }, 'downloaded file refused');
        throw failure(classified);
      }
      const stats = await fs.stat(path.join(deps.downloadDir, final.relativePath));
      if (stats.size > maxBytes) throw await tooLarge(`the finished file has ${stats.size} bytes`);
      const result: DownloadedFile = { title: file.title, filePath: final.relativePath, sizeBytes: stats.size };
      log.info({ file: result.filePath, sizeBytes: result.sizeBytes, source: source.name }, 'download finished');
      return result;

      async function tooLarge(detail: string): Promise<ApplicationFailure> {
        const removed = await removeUnverifiedFiles(deps.downloadDir, suffix, startedAt, { partials: true, folder: input.folder });
        const classified = make('TooLarge', detail);
        log.warn({ detail, removed }, 'download refused: larger than MAX_FILE_SIZE');
        return failure(classified, userMessage(classified, maxBytes));
      }
    });
  }
}

/** A classified failure, naming the downloader in its details too (the workflow puts it in the Web UI's attributes). */
function withDownloader(err: unknown, downloader: string): unknown {
  if (!(err instanceof ApplicationFailure) || err instanceof CancelledFailure) return err;
  const [first] = (err.details ?? []) as Array<Record<string, unknown> | undefined>;
  return ApplicationFailure.create({
    type: err.type ?? undefined,
    message: err.message,
    nonRetryable: err.nonRetryable ?? undefined,
    details: [{ ...(first ?? {}), downloader }],
    cause: err.cause,
  });
}

/**
 * The error kind an attempt is recorded with. A stop is "Cancelled" (a pause,
 * a cancel, a worker shutting down: not the downloader's fault) unless Temporal
 * stopped it for running out of time, which a hanging or throttled downloader
 * does ("Timeout", counted). Errors of the worker's own disk are the server's.
 */
function attemptErrorKind(err: unknown, ctx: Context): string {
  if (ctx.cancellationSignal.aborted || err instanceof CancelledFailure) {
    return ctx.cancellationDetails?.timedOut ? 'Timeout' : ctx.cancellationDetails?.workerShutdown ? 'WorkerShutdown' : 'Cancelled';
  }
  if (err instanceof ApplicationFailure) return err.type ?? 'Unknown';
  if (isDiskFullError(err)) return 'DiskFull';
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'StorageUnusable';
  return 'Unknown';
}

function cancellationOf(ctx: Context): Error {
  // Its worker is stopping: the download is handed back (the workflow runs it again elsewhere, from the partial file).
  if (ctx.cancellationDetails?.workerShutdown)
    return ApplicationFailure.create({
      type: 'WorkerShutdown',
      message: 'the worker stopped; the download goes on on another worker from its partial file',
    });
  const reason: unknown = ctx.cancellationSignal.reason;
  return reason instanceof Error ? reason : new CancelledFailure('download cancelled');
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

/** What the user reads for a failed attempt: the kind's sentence, or the source's more specific words. */
function userMessage(classified: Classified, maxFileSizeBytes: number, sourceMessage = classified.message): string {
  if (classified.kind === 'TooLarge') return `the file is larger than this server accepts (${humanSize(maxFileSizeBytes)})`;
  return sourceMessage;
}
