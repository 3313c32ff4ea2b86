import { describeRefusal, type Refusal } from '../domain/downloads/destinations';
import type { DownloadedFile } from '../domain/downloads/definitions';
import type { SentFile } from '../domain/downloads/sent-files';
import { REJECTION_REASONS, type UrlRejection } from '../domain/downloads/links';
import { fitMessage, humanSize, shortUrl, shownTitle } from '../domain/downloads/messages';
import type { Role } from '../domain/access/roles';
import { commandHelpLines } from './commands';
import type { SystemStats } from './system-stats';

/** What the bot says in reply to a message: help, refusals, and what happened to each link. */

/** /help for someone of `role`: only the commands they may use. */
export function helpText(role: Role): string {
  return [
    'Send me one or more links (http or https) and I will download them to the server.',
    'You get a reply listing what was queued, then one message per link when its file is on disk or when it failed.',
    'Links to the same video (even in different forms, like youtu.be and youtube.com) are downloaded once; everyone who asked is told when it is done.',
    'Every download has a short ID (in brackets in the replies) that the commands take.',
    '',
    'A playlist, channel or feed link downloads each of its videos into a folder named after it.',
    '',
    'A .txt file of links (one or more per line) is read the same way.',
    '',
    'Commands:',
    ...commandHelpLines(role),
  ].join('\n');
}

/** One active download as /status lists it. */
export interface ActiveLine {
  shortId: string;
  url: string;
  percent: number | null;
  totalBytes: number | null;
  speed: number | null;
  etaSeconds: number | null;
}

export interface StatusReport {
  system: SystemStats;
  counts: Record<'queued' | 'waiting_for_disk' | 'downloading' | 'paused', number>;
  globalPause: { pausedBy: string } | null;
  active: ActiveLine[];
}

/** Whole seconds, minutes or hours, for an ETA. */
function duration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function statusText(r: StatusReport): string {
  const { system, counts } = r;
  const disk = system.disk
    ? `disk ${system.disk.usedPercent}% used, ${humanSize(system.disk.freeBytes)} free`
    : 'disk: cannot read DOWNLOAD_DIR';
  const lines = [
    '📊 Status',
    `CPU ${system.cpuPercent}% · RAM ${system.ramPercent}% · ${disk}`,
    `Downloads: ${counts.downloading} downloading, ${counts.queued} queued, ${counts.waiting_for_disk} waiting for disk space, ${counts.paused} paused`,
  ];
  if (r.globalPause) lines.push(`⏸ Everything is paused (by ${r.globalPause.pausedBy}); /resume continues it.`);
  if (r.active.length > 0) {
    lines.push('', 'Downloading now:');
    for (const a of r.active) {
      const progress = [
        a.percent !== null ? `${a.percent}%` : null,
        a.totalBytes !== null ? `of ${humanSize(a.totalBytes)}` : null,
        a.speed !== null ? `${humanSize(a.speed)}/s` : null,
        a.etaSeconds !== null ? `ETA ${duration(a.etaSeconds)}` : null,
      ]
        .filter(Boolean)
        .join(', ');
      lines.push(`• [${a.shortId}] ${shortUrl(a.url, 60)}${progress ? ` - ${progress}` : ' - starting'}`);
    }
  }
  return fitMessage(lines.join('\n'));
}

/** One download as /queue lists it. */
export interface QueueRow {
  shortId: string;
  url: string;
  state: string;
  percent: number | null;
  etaSeconds: number | null;
}

const STATE_WORDS: Record<string, string> = {
  queued: 'queued',
  waiting_for_disk: 'waiting for disk space',
  downloading: 'downloading',
  paused: 'paused',
};

export function queueText(rows: QueueRow[], where: { scope: 'mine' | 'all'; page: number }): string {
  const whose = where.scope === 'all' ? "Everyone's downloads" : 'Your downloads';
  if (rows.length === 0) return where.page > 1 ? `${whose}: no more.` : `${whose}: nothing queued, running or paused.`;
  const lines = [`📋 ${whose} not yet ended${where.page > 1 ? ` (page ${where.page})` : ''}, newest first:`];
  for (const r of rows) {
    const progress = [r.percent !== null ? `${r.percent}%` : null, r.etaSeconds !== null ? `ETA ${duration(r.etaSeconds)}` : null]
      .filter(Boolean)
      .join(', ');
    lines.push(`• [${r.shortId}] ${shortUrl(r.url, 60)} - ${STATE_WORDS[r.state] ?? r.state}${progress ? `, ${progress}` : ''}`);
  }
  return fitMessage(lines.join('\n'));
}

export function unknownCommandText(command: string): string {
  return `I do not know /${command.slice(0, 64)}. Send /help for the commands I know.`;
}

export const DL_USAGE_TEXT =
  'Send /dl with a link, and options if you like: /dl <link> 720p mkv (or send /dl as a reply to a message with links)';
export const AUDIO_USAGE_TEXT =
  'Send /audio with a link, and m4a if you prefer it to mp3: /audio <link> m4a (or send /audio as a reply to a message with links)';

/** The one refusal someone without access gets (then nothing for a while). Their ID is what an admin needs to /grant them. */
export function notAllowedText(userId: number | undefined, bannedUntil?: Date | 'forever'): string {
  if (bannedUntil) {
    const until = bannedUntil === 'forever' ? '' : ` until ${bannedUntil.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
    return `Sorry, you are banned from this bot${until}.`;
  }
  const id = userId === undefined ? '' : ` Your Telegram user ID is ${userId}; an admin can let you in with /grant ${userId} user.`;
  return `Sorry, this bot is private.${id}`;
}
export const NO_LINKS_TEXT = 'I found no links in that message. Send me http:// or https:// links to download.';

export function internalErrorText(correlationId: string): string {
  return `Something went wrong on our side. Please try again later. (ref: ${correlationId})`;
}

/** Why a link in a message was refused: its own defect, one link too many, or where it leads. */
export type IntakeRejection = UrlRejection | 'too_many' | 'too_many_in_file' | 'private_address';

const INTAKE_REJECTION_REASONS: Record<Exclude<IntakeRejection, 'private_address'>, string> = {
  ...REJECTION_REASONS,
  too_many: 'too many links in one message',
  too_many_in_file: 'past the most links taken from one file',
};

export type RejectedLink =
  | { input: string; reason: Exclude<IntakeRejection, 'private_address'> }
  /** `input` is the link as parsed (hex and decimal hosts already in their plain form). */
  | { input: string; reason: 'private_address'; refusal: Refusal };

function rejectionText(r: RejectedLink): string {
  return r.reason === 'private_address' ? describeRefusal(r.refusal) : INTAKE_REJECTION_REASONS[r.reason];
}

/** A link that became (or joined) a download, and the short ID that names it. */
export interface NamedLink {
  url: string;
  shortId: string;
  contentKey?: string;
}

export interface IntakeReport {
  queued: NamedLink[];
  joined: NamedLink[];
  /** On disk; `sent` when Telegram keeps the file from an earlier send (it is sent again, no upload). */
  alreadyDone: Array<NamedLink & { file: DownloadedFile & { sent?: SentFile } }>;
  duplicates: string[];
  rejected: RejectedLink[];
  failed: string[];
  /** Held back by the sender's limits (active downloads, rate, trial quota). */
  limited: string[];
  /** Why they were held back, one sentence per limit reached. */
  limitNotes: string[];
  /** Anything else the sender should know first (a file that was cut short). */
  notes?: string[];
  correlationId: string;
  /** Everything is paused: what was queued waits for /resume. */
  paused: boolean;
  /** The mode and options the links were queued with ("audio, m4a", "720p, mkv"); absent for plain video. */
  options?: string;
}

const MAX_LINES_PER_SECTION = 10;

function section(title: string, lines: string[]): string[] {
  if (lines.length === 0) return [];
  const shown = lines.slice(0, MAX_LINES_PER_SECTION).map((l) => `• ${l}`);
  const more = lines.length - shown.length;
  return ['', title, ...shown, ...(more > 0 ? [`• … and ${more} more`] : [])];
}

const named = ({ url, shortId }: NamedLink) => `[${shortId}] ${shortUrl(url)}`;

/** The immediate answer to a message with links: what happens to each one, and why. */
export function intakeReplyText(r: IntakeReport): string {
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const queuedTitle = `Queued ${count(r.queued.length, 'download')}${r.options ? ` (${r.options})` : ''}${r.paused ? ' (paused: everything is paused until /resume)' : ''}:`;
  const lines = [
    // What needs the user's action comes first, so a long reply never cuts it off.
    ...(r.notes ?? []).map((n) => `\n${n}`),
    ...section(
      `Not queued: ${r.limitNotes.join(' ')}`,
      r.limited.map((u) => shortUrl(u)),
    ),
    ...section(
      `Could not be queued right now, please send again later (ref: ${r.correlationId}):`,
      r.failed.map((u) => shortUrl(u)),
    ),
    ...section(queuedTitle, r.queued.map(named)),
    ...section('Already downloading (you will be told when it finishes):', r.joined.map(named)),
    ...section(
      'Already downloaded:',
      r.alreadyDone.map(
        ({ url, shortId, file }) =>
          `[${shortId}] ${shownTitle(file.title)} (${humanSize(file.sizeBytes)}) - ${file.filePath} [${shortUrl(url, 60)}]`,
      ),
    ),
    ...section(
      'Repeated in this message (counted once):',
      r.duplicates.map((u) => shortUrl(u)),
    ),
    ...section(
      'Not accepted:',
      r.rejected.map((r) => `${shortUrl(r.input, 60)} - ${rejectionText(r)}`),
    ),
  ];
  return fitMessage(lines.join('\n').trim());
}
