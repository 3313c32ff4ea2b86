import fs from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { checkDestination, describeRefusal, UnresolvedHostError, type Refusal } from '../domain/downloads/destinations';
import { make, type Classified } from '../domain/downloads/errors';
import type { Logger } from '../lib/logger';
import { humanSize } from '../domain/downloads/messages';
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
      return inActivityScope(deps.logger, input.correlationId, async (log) => {
        const attempt = ctx.info.attempt;
        const startedAt = new Date();
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
        const source = await sourceFor(sources, link, log);
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
            maxBytes: deps.maxFileSizeBytes,
            signal: AbortSignal.any([ctx.cancellationSignal, overLimit.signal]),
            onProgress: (p) => {
              latest = p;
              if ((p.downloadedBytes ?? 0) > deps.maxFileSizeBytes) overLimit.abort();
            },
            log,
          });
        } catch (err) {
          if (ctx.cancellationSignal.aborted) throw cancellationOf(ctx);
          if (overLimit.signal.aborted) throw await tooLarge(`stopped after more than ${deps.maxFileSizeBytes} bytes`);
          if (!(err instanceof SourceFailure)) throw err;
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
          throw failure(classified, userMessage(classified, deps.maxFileSizeBytes, err.message));
        } finally {
          clearInterval(ticker);
        }
        if (ctx.cancellationSignal.aborted) throw cancellationOf(ctx);

        const final = await finalizeFile(deps.downloadDir, file.path);
        if (!final.ok) {
          const classified = make(final.reason === 'extension' ? 'UnsafeFile' : 'Unknown', final.detail);
          log.warn({ kind: classified.kind, detail: classified.detail }, 'downloaded file refused');
          throw failure(classified);
        }
        const stats = await fs.stat(path.join(deps.downloadDir, final.relativePath));
        if (stats.size > deps.maxFileSizeBytes) throw await tooLarge(`the finished file has ${stats.size} bytes`);
        const result: DownloadedFile = { title: file.title, filePath: final.relativePath, sizeBytes: stats.size };
        log.info({ file: result.filePath, sizeBytes: result.sizeBytes, source: source.name }, 'download finished');
        return result;

        async function tooLarge(detail: string): Promise<ApplicationFailure> {
          const removed = await removeUnverifiedFiles(deps.downloadDir, suffix, startedAt, { partials: true, folder: input.folder });
          const classified = make('TooLarge', detail);
          log.warn({ detail, removed }, 'download refused: larger than MAX_FILE_SIZE');
          return failure(classified, userMessage(classified, deps.maxFileSizeBytes));
        }
      });
    },
  };
}

function cancellationOf(ctx: Context): Error {
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
