import type { NextFunction } from 'grammy';
import type { Redis } from '../../lib/redis';
import type { BotContext } from '../context';

const REMEMBER_SECONDS = 24 * 60 * 60;

/**
 * Handles each Telegram update once. Telegram delivers an update again when the
 * bot stopped before confirming it; without this the user would get a second
 * "queued" reply. When Redis is down the guard is skipped, loudly: accepting
 * work matters more than avoiding a duplicate reply.
 */
export function oncePerUpdate(redis: Redis, botId: string) {
  return async (ctx: BotContext, next: NextFunction): Promise<void> => {
    let first = true;
    try {
      first = (await redis.set(`update:${botId}:${ctx.update.update_id}`, '1', 'EX', REMEMBER_SECONDS, 'NX')) === 'OK';
    } catch (err) {
      ctx.log.error({ err: err instanceof Error ? err.message : String(err) }, 'Redis unavailable: duplicate-update protection is off');
    }
    if (!first) {
      ctx.log.info({ updateId: ctx.update.update_id }, 'update already handled; skipped');
      return;
    }
    await next();
  };
}
