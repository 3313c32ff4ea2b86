import { displayLink, escapeBidiControls, truncate } from '../../lib/text';
import type { Actor, DownloadedFile, PlaylistMessage } from './definitions';

export type { PlaylistMessage } from './definitions';

/**
 * What users read about their downloads: sizes, links and titles as shown, and
 * the message each subscriber gets when a download ends. Plain text (no parse
 * mode), so nothing a title or URL contains can break the formatting.
 */

export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return 'unknown size';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A link as replies show it: readable when someone pastes a monster, and unable to disguise itself. */
export function shortUrl(url: string, max = 120): string {
  return displayLink(url, max);
}

/** A title from a site, as replies show it. */
export function shownTitle(title: string): string {
  return truncate(escapeBidiControls(title), 300);
}

/** A name someone gave themselves, as replies show it. */
export function shownName(name: string): string {
  return truncate(escapeBidiControls(name), 100);
}

/** Telegram refuses messages over 4096 characters. */
export const MAX_MESSAGE_LENGTH = 4096;

/** Cuts text to what one Telegram message can hold, never inside a character. */
export function fitMessage(text: string): string {
  return truncate(text, MAX_MESSAGE_LENGTH, '\n…');
}

/** "✅ Downloaded [1a2b3c4d]": the short ID every command accepts, when known. */
function heading(text: string, id: string | null | undefined): string {
  return id ? `${text} [${id}]` : text;
}

export function completedText(url: string, file: DownloadedFile, id?: string | null): string {
  return fitMessage(
    [heading('✅ Downloaded', id), shownTitle(file.title), `Size: ${humanSize(file.sizeBytes)}`, `Saved as: ${file.filePath}`, `Link: ${shortUrl(url)}`].join('\n'),
  );
}

export function failedText(url: string, reason: string, id?: string | null): string {
  return fitMessage([heading('❌ Download failed', id), `Link: ${shortUrl(url)}`, `Reason: ${reason}`].join('\n'));
}

export function cancelledText(url: string, by: Actor, id?: string | null): string {
  return fitMessage([heading('🚫 Download cancelled', id), `Link: ${shortUrl(url)}`, `Cancelled by: ${shownName(by.name)}`].join('\n'));
}

function playlistName(title: string | null): string {
  return title ? `"${shownTitle(title)}"` : 'the playlist';
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

export function playlistText(message: PlaylistMessage): string {
  if (message.kind === 'queued') {
    const lines = [heading(`📋 Queued ${plural(message.total, 'video')} from ${playlistName(message.title)}`, message.id)];
    if (message.capped) lines.push(`The playlist has more entries: only the first ${message.total} are taken (MAX_PLAYLIST_VIDEOS).`);
    if (message.skipped > 0) lines.push(`${plural(message.skipped, 'entry', 'entries')} left out (repeated, or not a link this server downloads).`);
    if (message.total > 0) lines.push(`Files go to: ${message.folder}/`, `One summary follows when all have ended. /pause ${message.id}, /cancel ${message.id}`);
    return fitMessage(lines.join('\n'));
  }
  const { counts } = message;
  if (message.error) return fitMessage([heading(`❌ Playlist failed`, message.id), `Reason: ${message.error}`].join('\n'));
  const head = message.cancelledBy
    ? `🚫 Playlist ${playlistName(message.title)} cancelled by ${shownName(message.cancelledBy.name)}`
    : `🏁 Playlist ${playlistName(message.title)} finished`;
  const tally = [
    `downloaded: ${counts.completed}`,
    `already had: ${counts.alreadyHad}`,
    `failed: ${counts.failed}`,
    ...(counts.cancelled > 0 ? [`cancelled: ${counts.cancelled}`] : []),
  ].join(', ');
  const lines = [heading(head, message.id), `${plural(counts.total, 'video')}: ${tally}`];
  if (counts.completed + counts.alreadyHad > 0) lines.push(`Files are in: ${message.folder}/ (an entry downloaded before, or for someone else, keeps its place)`);
  if (message.failures.length > 0) {
    lines.push('Failed:');
    for (const failure of message.failures) lines.push(`• ${truncate(escapeBidiControls(failure.name), 120)}: ${failure.reason}`);
    if (counts.failed > message.failures.length) lines.push(`…and ${counts.failed - message.failures.length} more`);
  }
  return fitMessage(lines.join('\n'));
}
