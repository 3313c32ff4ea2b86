import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import {
  downloadWorkflowId,
  shortId,
  type DownloadInput,
  type EntryStatus,
  type PlaylistEntry,
  type PlaylistListing,
} from '../domain/downloads/definitions';
import { contentKeyFor, parseMediaUrl } from '../domain/downloads/links';
import { inActivityScope } from './activity-scope';
import type { ActivityDeps } from './deps';
import { createSources, SourceFailure, sourceFor, type DownloadSource } from './sources';
import { MAX_ENTRY_URL_CHARS } from './ytdlp';

/**
 * The most characters a playlist's entries may hold together (links and titles):
 * they travel in the listing's result and in every continue-as-new, and Temporal
 * refuses payloads over 2 MB. Past it the list is cut as MAX_PLAYLIST_VIDEOS cuts it.
 */
export const MAX_ENTRIES_CHARS = 1_000_000;
/** Longest entry link taken (intake's MAX_URL_LENGTH default). */
const MAX_ENTRY_LINK_CHARS = 2_048;

/** Longest folder name a playlist's title gives (bytes are ASCII after cleaning). */
const MAX_FOLDER_CHARS = 80;

/**
 * A folder name for a playlist, from its title: ASCII letters, digits and a
 * little punctuation (as file names), never hidden, never `..`; the short ID
 * when the title leaves nothing.
 */
export function playlistFolderName(title: string | null, contentKey: string): string {
  const cleaned = (title ?? '')
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9 ._-]+/g, '_')
    .replace(/\s+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, MAX_FOLDER_CHARS)
    .replace(/[._-]+$/, '');
  return cleaned.length >= 2 ? cleaned : `playlist-${shortId(contentKey)}`;
}

/**
 * Turns what a source listed into the playlist's entries: each link parsed and
 * given its content key in the playlist's mode and options; repeats, links that
 * are not http(s) and the playlist itself left out (counted as skipped).
 */
export function settleEntries(
  source: DownloadInput,
  listed: Array<{ url: string; title: string | null }>,
  maxChars = MAX_ENTRIES_CHARS,
): { entries: PlaylistEntry[]; skipped: number; cut: boolean } {
  const entries: PlaylistEntry[] = [];
  const seen = new Set<string>([source.contentKey]);
  let skipped = 0;
  let chars = 0;
  for (const item of listed) {
    const parsed = parseMediaUrl(item.url, Math.min(MAX_ENTRY_LINK_CHARS, MAX_ENTRY_URL_CHARS));
    if (!parsed.ok) {
      skipped += 1;
      continue;
    }
    const contentKey = contentKeyFor(parsed.url, source.mode, source.options);
    if (seen.has(contentKey)) {
      skipped += 1;
      continue;
    }
    seen.add(contentKey);
    chars += parsed.url.original.length + parsed.url.normalized.length + (item.title?.length ?? 0);
    if (chars > maxChars) return { entries, skipped, cut: true };
    entries.push({
      contentKey,
      url: parsed.url.original,
      normalizedUrl: parsed.url.normalized,
      platform: parsed.url.platform,
      videoId: parsed.url.videoId,
      title: item.title,
    });
  }
  return { entries, skipped, cut: false };
}

/** Listing runs a source (yt-dlp) on the download task queue, beside the downloads. */
export function createPlaylistListingActivities(
  deps: Pick<
    ActivityDeps,
    | 'logger'
    | 'maxPlaylistEntries'
    | 'destinations'
    | 'resolveHost'
    | 'proxyResolvesHosts'
    | 'socketTimeoutSeconds'
    | 'ytDlpPath'
    | 'ytDlpFeatures'
    | 'maxFileSizeBytes'
    | 'ytDlpSettings'
    | 'directSource'
  > & { sources?: DownloadSource[] },
) {
  const sources = deps.sources ?? createSources(deps);
  return {
    /**
     * The entries of a playlist, channel or feed, without downloading them (at
     * most MAX_PLAYLIST_VIDEOS). Failures are classified as a download's are.
     */
    async listPlaylist(source: DownloadInput): Promise<PlaylistListing> {
      const ctx = Context.current();
      return inActivityScope(deps.logger, source.correlationId, async (log) => {
        const link = { url: source.normalizedUrl, platform: source.platform, mode: source.mode, options: source.options };
        const ticker = setInterval(() => ctx.heartbeat(), 5_000);
        try {
          const chosen = await sourceFor(sources, link, log);
          const probe = await chosen.probe(link, { maxEntries: deps.maxPlaylistEntries, signal: ctx.cancellationSignal, log });
          const title = probe.title;
          const listed = probe.kind === 'playlist' ? probe.entries : [];
          const { entries, skipped, cut } = settleEntries(source, listed);
          const listing: PlaylistListing = {
            title,
            folder: playlistFolderName(title, source.contentKey),
            entries,
            capped: (probe.kind === 'playlist' && probe.more) || cut,
            skipped,
          };
          log.info({ title, entries: entries.length, capped: listing.capped, skipped, source: chosen.name }, 'playlist listed');
          return listing;
        } catch (err) {
          if (!(err instanceof SourceFailure)) throw err;
          const { classified } = err;
          log.warn({ kind: classified.kind, detail: classified.detail }, 'could not list the playlist');
          throw ApplicationFailure.create({ type: classified.kind, message: err.message, nonRetryable: !classified.retryable });
        } finally {
          clearInterval(ticker);
        }
      });
    },
  };
}

export interface EntriesToStart {
  playlistWorkflowId: string;
  /** The playlist's own request: entries share its mode, options, policy and correlation ID. */
  source: DownloadInput;
  folder: string;
  entries: PlaylistEntry[];
  /** The user who asked for the playlist, for the entries' RequestedBy search attribute. */
  requestedBy: number | null;
}

export interface EntryStart {
  contentKey: string;
  /** `had`: already downloaded and on disk, answered from the record without a workflow. */
  started: 'started' | 'joined' | 'had';
}

/** Starting and checking entries goes through the downloads client, on the main task queue. */
export function createPlaylistActivities(deps: Pick<ActivityDeps, 'logger' | 'downloads'>) {
  const client = () => {
    if (!deps.downloads) throw new Error('this worker has no Temporal client to start playlist entries with');
    return deps.downloads;
  };
  return {
    /**
     * Starts each entry's download, or joins the one already running for it; the
     * download tells the playlist when it ends. Temporal being unreachable fails
     * the activity, which is retried (starting an entry twice only joins it).
     */
    async startPlaylistEntries(request: EntriesToStart): Promise<EntryStart[]> {
      return inActivityScope(deps.logger, request.source.correlationId, async (log) => {
        const downloads = client();
        const results = await Promise.all(
          request.entries.map(async (entry): Promise<EntryStart> => {
            const input: DownloadInput = {
              contentKey: entry.contentKey,
              url: entry.url,
              normalizedUrl: entry.normalizedUrl,
              platform: entry.platform,
              videoId: entry.videoId,
              mode: request.source.mode,
              ...(request.source.options ? { options: request.source.options } : {}),
              folder: request.folder,
              correlationId: request.source.correlationId,
              policy: request.source.policy,
            };
            // As the bot does for a link: an entry on disk is answered from the record, no workflow started.
            const had = await downloads.findCompleted(entry.contentKey).catch((err: unknown) => {
              log.warn({ err }, 'database lookup failed; starting the entry without it');
              return null;
            });
            if (had) return { contentKey: entry.contentKey, started: 'had' };
            const started = await downloads.startOrJoinEntry(input, request.playlistWorkflowId, request.requestedBy);
            return { contentKey: entry.contentKey, started };
          }),
        );
        log.info({ playlist: request.playlistWorkflowId, started: results.length }, 'playlist entries started');
        return results;
      });
    },

    /**
     * How entries the playlist still counts as running have ended, for any whose
     * word never came (an operator terminated it): null while one still runs.
     */
    async checkPlaylistEntries(contentKeys: string[]): Promise<Record<string, EntryStatus | null>> {
      const downloads = client();
      const statuses: Record<string, EntryStatus | null> = {};
      for (const key of contentKeys)
        statuses[key] = await downloads.entryStatus(downloadWorkflowId(key)).catch((err: unknown) => {
          if (err instanceof WorkflowNotFoundError) return { state: 'failed', message: 'its download was removed' } as const;
          throw err;
        });
      return statuses;
    },
  };
}
