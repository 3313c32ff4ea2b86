import { Composer } from 'grammy';
import { helpText } from '../replies';
import type { BotContext } from '../context';

export const startFeature = new Composer<BotContext>();

startFeature.command(['start', 'help'], async (ctx) => {
  await ctx.reply(helpText(ctx.access.role), { link_preview_options: { is_disabled: true } });
});
