import { Composer } from 'grammy';
import { HELP_TEXT } from '../replies';
import type { BotContext } from '../context';

export const startFeature = new Composer<BotContext>();

startFeature.command(['start', 'help'], async (ctx) => {
  await ctx.reply(HELP_TEXT, { link_preview_options: { is_disabled: true } });
});
