import type { Logger } from '../../lib/logger';
import { createDirectHttpSource, type DirectHttpDeps } from './direct-http';
import type { DownloadSource, SourceLink } from './source';
import { createYtDlpSource, type YtDlpSourceDeps } from './ytdlp';

export type { DownloadSource, Probe, ProbedEntry, SourceFile, SourceJob, SourceLink } from './source';
export { SourceFailure } from './source';

/**
 * The download sources, in the order they are asked whether they take a link.
 * A new source is a file beside these and one line here; yt-dlp comes last,
 * since it takes anything the others did not.
 */
export function createSources(deps: DirectHttpDeps & YtDlpSourceDeps & { directSource: boolean }): DownloadSource[] {
  return [
    ...(deps.directSource ? [createDirectHttpSource(deps)] : []), // plain media files, at network speed (DIRECT_SOURCE)
    createYtDlpSource(deps), // everything else
  ];
}

/** The first source that takes the link. */
export async function sourceFor(sources: DownloadSource[], link: SourceLink, log: Logger): Promise<DownloadSource> {
  for (const source of sources) if (await source.accepts(link, log)) return source;
  throw new Error('no download source takes this link (the last source must take every link)');
}
