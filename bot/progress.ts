import { GrammyError, InlineKeyboard, type Api } from 'grammy';
import type { DownloadsClient, DownloadView } from '../domain/downloads/client';
import { humanSize, shortUrl } from '../domain/downloads/messages';
import type { Logger } from '../lib/logger';
import type { Redis } from '../lib/redis';
import { allows } from '../domain/access/roles';
import type { BotContext } from './context';
import type { IntakeReport } from './replies';

/** At most one edit per chat this often: Telegram allows about 20 messages a minute in a group. */
export const EDIT_INTERVAL_MS = 3_000;
/** How often the watcher looks for a chat whose turn it is. */
const TICK_MS = 500;
/** A status message is given up on after this long (a download paused for days keeps its last text). */
const TRACK_HOURS = 24;
const REDIS_KEY = 'progress:tracked';

/** One request's status message: the bot's reply, edited as the download goes. */
export interface TrackedStatus {
  chatId: number;
  messageId: number;
  contentKey: string;
  /** Show pause, resume and cancel buttons (the requester is an admin). */
  buttons: boolean;
  since: number;
}

/** Callback data of the status message's buttons: `dl:<action>:<short ID>`. */
export const STATUS_BUTTON = /^dl:(pause|resume|cancel):([0-9a-f]{8,64})$/;

const BAR_WIDTH = 10;

/** "▓▓▓▓▓▓░░░░ 62%". */
export function progressBar(percent: number): string {
  const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round((percent / 100) * BAR_WIDTH)));
  return `${'▓'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)} ${Math.floor(percent)}%`;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** The status message's text for a download as it stands. */
export function statusText(view: DownloadView, maxAttempts: number): string {
  const head = `[${view.shortId}] ${shortUrl(view.url, 80)}`;
  if (!view.running) {
    const ended = view.state === 'completed' ? '✅ Downloaded' : view.state === 'cancelled' ? '🚫 Cancelled' : '❌ Failed';
    return `${ended} ${head}\n(details in the reply below)`;
  }
  if (view.paused) return `⏸ Paused ${head}${view.pausedBy ? `\nPaused by ${view.pausedBy.name}` : ''}`;
  if (view.state === 'waiting_for_disk') return `💾 Waiting for disk space ${head}`;
  const p = view.progress;
  if (view.state !== 'downloading' || !p) return `⏳ Queued ${head}`;
  const lines = [`⬇️ Downloading ${head}`];
  if (p.percent !== null) lines.push(progressBar(p.percent));
  const figures = [
    p.downloadedBytes !== null ? `${humanSize(p.downloadedBytes)}${p.totalBytes ? ` of ${humanSize(p.totalBytes)}` : ''}` : null,
    p.speed ? `${humanSize(p.speed)}/s` : null,
    p.etaSeconds !== null ? `ETA ${clock(p.etaSeconds)}` : null,
  ].filter(Boolean);
  if (figures.length) lines.push(figures.join(' · '));
  if (p.attempt > 1) lines.push(`Attempt ${p.attempt} of ${maxAttempts} (retrying)`);
  return lines.join('\n');
}

function keyboardFor(view: DownloadView): InlineKeyboard | undefined {
  if (!view.running) return undefined;
  const id = view.shortId;
  return new InlineKeyboard()
    .text(view.paused ? '▶️ Resume' : '⏸ Pause', `dl:${view.paused ? 'resume' : 'pause'}:${id}`)
    .text('✖ Cancel', `dl:cancel:${id}`);
}

/**
 * Keeps status messages up to date. The bot registers a message when it
 * answers a request for one download; the watcher then edits it from the
 * download's state and heartbeats (through the downloads client), at most one
 * edit per chat every EDIT_INTERVAL_MS, until the download ends, when the
 * last edit states the result. Tracked messages are kept in Redis, so a
 * restarted bot takes them up again (without Redis, in this process only).
 */
export class ProgressWatcher {
  private readonly tracked = new Map<string, TrackedStatus & { lastText?: string; lastEdit: number }>();
  private readonly lastEditInChat = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private round: Promise<void> = Promise.resolve();

  constructor(
    private readonly api: Api,
    private readonly downloads: DownloadsClient,
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const saved = await this.redis.hvals(REDIS_KEY).catch(() => [] as string[]);
    for (const text of saved) {
      const entry = JSON.parse(text) as TrackedStatus;
      this.tracked.set(keyOf(entry), { ...entry, lastEdit: 0 });
    }
    this.timer = setInterval(() => {
      if (!this.busy) this.round = this.tick();
    }, TICK_MS);
  }

  /** Stops editing; resolves once a round under way has finished (nothing is left calling Temporal or Telegram). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.round;
  }

  /** Follows one status message from now on. */
  async track(entry: Omit<TrackedStatus, 'since'>): Promise<void> {
    const full = { ...entry, since: Date.now() };
    this.tracked.set(keyOf(full), { ...full, lastEdit: Date.now() });
    await this.redis.hset(REDIS_KEY, keyOf(full), JSON.stringify(full)).catch(() => undefined);
  }

  /** Brings a download's status messages up to date soon (after a button press), within the per-chat limit. */
  nudge(shortId: string): void {
    for (const entry of this.tracked.values()) if (entry.contentKey.startsWith(shortId)) entry.lastEdit = 0;
  }

  private async forget(key: string): Promise<void> {
    this.tracked.delete(key);
    await this.redis.hdel(REDIS_KEY, key).catch(() => undefined);
  }

  /** One round: in each chat whose turn it is, the message edited longest ago. */
  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = Date.now();
      const byChat = new Map<number, Array<[string, TrackedStatus & { lastText?: string; lastEdit: number }]>>();
      for (const item of this.tracked) {
        if (now - item[1].since > TRACK_HOURS * 3_600_000) {
          await this.forget(item[0]);
          continue;
        }
        byChat.set(item[1].chatId, [...(byChat.get(item[1].chatId) ?? []), item]);
      }
      await Promise.all(
        [...byChat].map(async ([chatId, items]) => {
          if (now - (this.lastEditInChat.get(chatId) ?? 0) < EDIT_INTERVAL_MS) return;
          const [key, entry] = items.sort((a, b) => a[1].lastEdit - b[1].lastEdit)[0]!;
          if (now - entry.lastEdit < EDIT_INTERVAL_MS) return;
          await this.refresh(key, entry).catch((err: unknown) =>
            this.logger.warn({ err: err instanceof Error ? err.message : String(err), chatId }, 'could not update a status message'),
          );
        }),
      );
    } finally {
      this.busy = false;
    }
  }

  private async refresh(key: string, entry: TrackedStatus & { lastText?: string; lastEdit: number }): Promise<void> {
    entry.lastEdit = Date.now();
    const view = await this.downloads.describeKey(entry.contentKey).catch(() => null);
    if (!view) return;
    const text = statusText(view, this.downloads.maxAttempts);
    const keyboard = entry.buttons ? keyboardFor(view) : undefined;
    const shown = `${text}|${JSON.stringify(keyboard?.inline_keyboard ?? null)}`;
    if (shown !== entry.lastText) {
      this.lastEditInChat.set(entry.chatId, Date.now());
      try {
        await this.api.editMessageText(entry.chatId, entry.messageId, text, {
          link_preview_options: { is_disabled: true },
          ...(keyboard ? { reply_markup: keyboard } : { reply_markup: { inline_keyboard: [] } }),
        });
        entry.lastText = shown;
      } catch (err) {
        // Unchanged text is no error; a message deleted or no longer editable is given up on.
        if (!(err instanceof GrammyError) || !/not modified/.test(err.description)) {
          if (err instanceof GrammyError && err.error_code === 400) return void (await this.forget(key));
          throw err;
        }
      }
    }
    if (!view.running) await this.forget(key);
  }
}

function keyOf(entry: { chatId: number; messageId: number }): string {
  return `${entry.chatId}:${entry.messageId}`;
}

/**
 * A request for one download gets a live status message: the bot's answer to
 * it, edited from then on. (An answer about several links stays as it is; each
 * link's completion message follows.)
 */
export async function followSingleDownload(
  ctx: Pick<BotContext, 'deps' | 'access' | 'chat'>,
  report: IntakeReport,
  answer: { message_id: number },
): Promise<void> {
  const started = [...report.queued, ...report.joined];
  if (started.length !== 1 || !started[0]!.contentKey || !ctx.chat) return;
  await ctx.deps.progress.track({
    chatId: ctx.chat.id,
    messageId: answer.message_id,
    contentKey: started[0]!.contentKey,
    buttons: allows(ctx.access.role, 'admin'),
  });
}
