import { Composer } from 'grammy';
import { statusText, type ActiveLine } from '../replies';
import type { BotContext } from '../context';
import { systemStats } from '../system-stats';

export const statusFeature = new Composer<BotContext>();

/** Active downloads /status shows with their progress (each needs one look at its workflow). */
const ACTIVE_SHOWN = 10;

/**
 * /status: the machine (CPU, RAM, DOWNLOAD_DIR's disk), how many downloads are
 * in each state (counted by Temporal's visibility), the global pause, and the
 * downloads running now with their progress.
 */
statusFeature.command('status', async (ctx) => {
  const { downloads, settings } = ctx.deps;
  const [system, counts, control, running] = await Promise.all([
    systemStats(settings.DOWNLOAD_DIR),
    downloads.countByState(),
    downloads.globalState({ maxAgeMs: 1_000 }).catch(() => null),
    downloads.list({ states: ['downloading'] }, { pageSize: ACTIVE_SHOWN }),
  ]);
  const active: ActiveLine[] = await Promise.all(
    running.downloads.map(async (d) => {
      const view = await downloads.describeKey(d.contentKey, { live: false }).catch(() => null);
      const p = view?.ok ? view.progress : null;
      return {
        shortId: d.shortId,
        url: d.url,
        percent: p?.percent ?? null,
        totalBytes: p?.totalBytes ?? null,
        speed: p?.speed ?? null,
        etaSeconds: p?.etaSeconds ?? null,
      };
    }),
  );
  await ctx.reply(
    statusText({ system, counts, globalPause: control?.paused ? { pausedBy: control.pausedBy?.name ?? 'someone' } : null, active }),
    {
      reply_parameters: { message_id: ctx.msg!.message_id, allow_sending_without_reply: true },
      link_preview_options: { is_disabled: true },
    },
  );
});
