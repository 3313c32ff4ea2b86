import type { NextFunction } from 'grammy';
import { NOT_ALLOWED_TEXT } from '../replies';
import type { BotContext } from '../context';

/**
 * Only ADMIN_IDS may use the bot for now. Others get a short refusal in private
 * chats (or when they address the bot with a command); in groups the bot stays quiet.
 */
export async function adminOnly(ctx: BotContext, next: NextFunction): Promise<void> {
  const userId = ctx.from?.id;
  if (userId !== undefined && ctx.deps.settings.ADMIN_IDS.includes(userId)) return next();
  ctx.log.warn({ userId }, 'refused: not an admin');
  const addressed = ctx.chat?.type === 'private' || (ctx.msg?.text ?? '').startsWith('/');
  if (addressed && ctx.chat) await ctx.reply(NOT_ALLOWED_TEXT);
}
