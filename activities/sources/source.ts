import type { DownloadInput, DownloadMode, Platform } from '../../domain/downloads/definitions';
import type { DownloadOptions } from '../../domain/downloads/options';
import type { Classified } from '../../domain/downloads/errors';
import type { Logger } from '../../lib/logger';
import type { Progress } from '../ytdlp';

/**
 * A download source: something that can fetch media for a link. yt-dlp takes
 * any page it has an extractor for; direct HTTP takes plain media files at
 * network speed. Adding one is a new file in this folder and one line in
 * `index.ts`; the download activity around it does everything sources share
 * (the destination check, heartbeats, the size limit, checking and naming the
 * finished file, cleaning up after a failure).
 */
export interface DownloadSource {
  /** Shown in logs and in the download's heartbeat details ("yt-dlp", "direct"). */
  readonly name: string;
  /**
   * Whether this source takes the link. May look at it over the network (a HEAD
   * request, never the body); asked in registration order, the first yes wins.
   */
  accepts(link: SourceLink, log: Logger): Promise<boolean>;
  /** What the link is, without downloading it: one item's title, or a playlist's entries (at most `maxEntries`). */
  probe(link: SourceLink, options: ProbeOptions): Promise<Probe>;
  /**
   * Downloads into `job.incompleteDir`, resuming what an earlier attempt left
   * there, and moves the finished file into `job.targetDir`. Stops when
   * `job.signal` aborts (keeping the partial file). Throws SourceFailure.
   */
  download(job: SourceJob): Promise<SourceFile>;
}

export interface SourceLink {
  /** The normalized URL. */
  url: string;
  platform: Platform;
  /** What the request asked for: a source that cannot honour it (audio only, a height cap) declines the link. */
  mode?: DownloadMode;
  options?: DownloadOptions;
}

export interface ProbeOptions {
  maxEntries: number;
  signal: AbortSignal;
  log: Logger;
}

/** One entry of a playlist as a source lists it. */
export interface ProbedEntry {
  url: string;
  title: string | null;
}

export type Probe =
  | { kind: 'single'; title: string | null }
  /** `more`: the list went on past `maxEntries`. */
  | { kind: 'playlist'; title: string | null; entries: ProbedEntry[]; more: boolean };

export interface SourceJob {
  input: DownloadInput;
  /** Absolute folder the finished file goes to (DOWNLOAD_DIR, or a playlist's folder in it). */
  targetDir: string;
  /** Absolute folder for partial files, kept between attempts. */
  incompleteDir: string;
  /** Hex digits of the content key that end every file name of this content (`<name>-<suffix>.<ext>`). */
  suffix: string;
  /** MAX_FILE_SIZE: a source that learns the size first refuses a larger file before fetching it. */
  maxBytes: number;
  signal: AbortSignal;
  onProgress(progress: Progress): void;
  log: Logger;
}

/** The file a source wrote: an absolute path, not yet checked or renamed, and a title for people. */
export interface SourceFile {
  path: string;
  title: string;
  /** The extractor that found the media (yt-dlp's extractor key), when the source has them. */
  extractor?: string | null;
}

/**
 * A failed download, classified by the source that knows its tool or protocol:
 * the kind decides retrying, `message` is what people read.
 */
export class SourceFailure extends Error {
  constructor(
    readonly classified: Classified,
    message: string = classified.message,
    /** The extractor the failure came from (yt-dlp's "ERROR: [youtube] ..."), when known. */
    readonly extractor: string | null = null,
  ) {
    super(message);
    this.name = 'SourceFailure';
  }
}
