import { Composer, InlineKeyboard } from 'grammy';
import { allows } from '../../domain/access/roles';
import { ACTIVE_STATES } from '../../domain/downloads/definitions';
import type { BotContext } from '../context';
import { queueText, type QueueRow } from '../replies';

export const queueFeature = new Composer<BotContext>();

const PAGE_SIZE = 10;
/** Pages past this are not offered (each page is found by walking the ones before it). */
const MAX_PAGE = 50;

/**
 * Page `page` (from 1) of the downloads not yet ended, newest first: the asker's
 * own, or everyone's. A running download's row carries its progress.
 */
async function queuePage(
  ctx: BotContext,
  scope: 'mine' | 'all',
  page: number,
): Promise<{ text: string; keyboard: InlineKeyboard | undefined }> {
  const { downloads } = ctx.deps;
  const filter = { states: ACTIVE_STATES, ...(scope === 'mine' ? { requestedBy: String(ctx.from?.id ?? 0) } : {}) };
  // Callback data holds 64 bytes, too few for visibility's page tokens: a page is reached from the first.
  let token: string | null = null;
  let current = await downloads.list(filter, { pageSize: PAGE_SIZE });
  for (let p = 1; p < page && current.nextPageToken; p++) {
    token = current.nextPageToken;
    current = await downloads.list(filter, { pageSize: PAGE_SIZE, nextPageToken: token });
  }
  const rows: QueueRow[] = await Promise.all(
    current.downloads.map(async (d) => {
      if (d.state !== 'downloading') return { shortId: d.shortId, url: d.url, state: d.state, percent: null, etaSeconds: null };
      const view = await downloads.describeKey(d.contentKey, { live: false }).catch(() => null);
      const progress = view?.ok ? view.progress : null;
      return {
        shortId: d.shortId,
        url: d.url,
        state: d.state,
        percent: progress?.percent ?? null,
        etaSeconds: progress?.etaSeconds ?? null,
      };
    }),
  );
  const keyboard = new InlineKeyboard();
  if (page > 1) keyboard.text('‹ Newer', `queue:${scope}:${page - 1}`);
  if (current.nextPageToken && page < MAX_PAGE) keyboard.text('Older ›', `queue:${scope}:${page + 1}`);
  return { text: queueText(rows, { scope, page }), keyboard: page > 1 || current.nextPageToken ? keyboard : undefined };
}

/** /queue: your downloads that have not ended; /queue all: everyone's. */
queueFeature.command('queue', async (ctx) => {
  const arg = ctx.match.trim().toLowerCase();
  if (arg && arg !== 'all') return void (await ctx.reply("Send /queue for your downloads, or /queue all for everyone's."));
  if (arg === 'all' && !allows(ctx.access.role, 'admin'))
    return void (await ctx.reply("Only admins see everyone's downloads; /queue shows yours."));
  const { text, keyboard } = await queuePage(ctx, arg === 'all' ? 'all' : 'mine', 1);
  await ctx.reply(text, {
    reply_parameters: { message_id: ctx.msg!.message_id, allow_sending_without_reply: true },
    link_preview_options: { is_disabled: true },
    ...(keyboard ? { reply_markup: keyboard } : {}),
  });
});

queueFeature.callbackQuery(/^queue:(mine|all):(\d{1,3})$/, async (ctx) => {
  await ctx.answerCallbackQuery();
  const page = Math.min(MAX_PAGE, Math.max(1, Number(ctx.match[2])));
  const { text, keyboard } = await queuePage(ctx, ctx.match[1] as 'mine' | 'all', page);
  await ctx.editMessageText(text, { link_preview_options: { is_disabled: true }, ...(keyboard ? { reply_markup: keyboard } : {}) });
});
