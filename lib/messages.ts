import type { DownloadedFile } from '../workflows/definitions';
import { describeRefusal, type Refusal } from './destinations';
import { displayLink, escapeBidiControls, truncate } from './text';
import { REJECTION_REASONS, type UrlRejection } from './urls';

/**
 * Everything users read, in one place. Plain text (no parse mode), so nothing a
 * title or URL contains can break the formatting.
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
function shownTitle(title: string): string {
  return truncate(escapeBidiControls(title), 300);
}

export const HELP_TEXT = [
  'Send me one or more links (http or https) and I will download them to the server.',
  'You get a reply listing what was queued, then one message per link when its file is on disk or when it failed.',
  'Links to the same video (even in different forms, like youtu.be and youtube.com) are downloaded once; everyone who asked is told when it is done.',
  '',
  'Commands:',
  '/start, /help - this message',
].join('\n');

export const NOT_ALLOWED_TEXT = 'Sorry, this bot is private. Ask its owner to add your Telegram user ID.';
export const NO_LINKS_TEXT = 'I found no links in that message. Send me http:// or https:// links to download.';

export function internalErrorText(correlationId: string): string {
  return `Something went wrong on our side. Please try again later. (ref: ${correlationId})`;
}

/** Why a link in a message was refused: its own defect, one link too many, or where it leads. */
export type IntakeRejection = UrlRejection | 'too_many' | 'private_address';

const INTAKE_REJECTION_REASONS: Record<Exclude<IntakeRejection, 'private_address'>, string> = {
  ...REJECTION_REASONS,
  too_many: 'too many links in one message',
};

export type RejectedLink =
  | { input: string; reason: Exclude<IntakeRejection, 'private_address'> }
  /** `input` is the link as parsed (hex and decimal hosts already in their plain form). */
  | { input: string; reason: 'private_address'; refusal: Refusal };

function rejectionText(r: RejectedLink): string {
  return r.reason === 'private_address' ? describeRefusal(r.refusal) : INTAKE_REJECTION_REASONS[r.reason];
}

export interface IntakeReport {
  queued: string[];
  joined: string[];
  alreadyDone: Array<{ url: string; file: DownloadedFile }>;
  duplicates: string[];
  rejected: RejectedLink[];
  failed: string[];
  correlationId: string;
}

/** Telegram refuses messages over 4096 characters. */
export const MAX_MESSAGE_LENGTH = 4096;
const MAX_LINES_PER_SECTION = 10;

function section(title: string, lines: string[]): string[] {
  if (lines.length === 0) return [];
  const shown = lines.slice(0, MAX_LINES_PER_SECTION).map((l) => `• ${l}`);
  const more = lines.length - shown.length;
  return ['', title, ...shown, ...(more > 0 ? [`• … and ${more} more`] : [])];
}

/** Cuts text to what one Telegram message can hold, never inside a character. */
export function fitMessage(text: string): string {
  return truncate(text, MAX_MESSAGE_LENGTH, '\n…');
}

/** The immediate answer to a message with links: what happens to each one, and why. */
export function intakeReplyText(r: IntakeReport): string {
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const lines = [
    // What needs the user's action comes first, so a long reply never cuts it off.
    ...section(`Could not be queued right now, please send again later (ref: ${r.correlationId}):`, r.failed.map((u) => shortUrl(u))),
    ...section(`Queued ${count(r.queued.length, 'download')}:`, r.queued.map((u) => shortUrl(u))),
    ...section('Already downloading (you will be told when it finishes):', r.joined.map((u) => shortUrl(u))),
    ...section(
      'Already downloaded:',
      r.alreadyDone.map(({ url, file }) => `${shownTitle(file.title)} (${humanSize(file.sizeBytes)}) - ${file.filePath} [${shortUrl(url, 60)}]`),
    ),
    ...section('Repeated in this message (counted once):', r.duplicates.map((u) => shortUrl(u))),
    ...section('Not accepted:', r.rejected.map((r) => `${shortUrl(r.input, 60)} - ${rejectionText(r)}`)),
  ];
  return fitMessage(lines.join('\n').trim());
}

export function completedText(url: string, file: DownloadedFile): string {
  return fitMessage(['✅ Downloaded', shownTitle(file.title), `Size: ${humanSize(file.sizeBytes)}`, `Saved as: ${file.filePath}`, `Link: ${shortUrl(url)}`].join('\n'));
}

export function failedText(url: string, reason: string): string {
  return fitMessage(['❌ Download failed', `Link: ${shortUrl(url)}`, `Reason: ${reason}`].join('\n'));
}
