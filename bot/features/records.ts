import { Composer } from 'grammy';
import type { BotContext } from '../context';

export const recordsFeature = new Composer<BotContext>();

/** /clear: forgets the records of ended downloads; files on disk and running downloads are not touched. */
recordsFeature.command('clear', async (ctx) => {
  const removed = await ctx.deps.records();
  const total = removed.completed + removed.failed + removed.cancelled;
  ctx.log.info({ removed }, 'records of ended downloads cleared');
  await ctx.reply(
    total === 0
      ? 'Nothing to clear: no completed, failed or cancelled download is recorded.'
      : `🧹 Removed ${total} record${total === 1 ? '' : 's'} (${removed.completed} completed, ${removed.failed} failed, ${removed.cancelled} cancelled). Files on disk and downloads not yet ended are untouched; a cleared link sent again is downloaded again.`,
  );
});
