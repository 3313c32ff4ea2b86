import type { NextFunction } from 'grammy';
import type { Redis } from '../../lib/redis';
import type { BotContext } from '../context';

const REMEMBER_SECONDS = 24 * 60 * 60;

/**
 * Handles each Telegram update once. Telegram delivers an update again when the
 * bot stopped before confirming it; without this the user would get a second
 * "queued" reply. The update is marked only after it was handled: if the bot
 * dies halfway, the redelivered update is handled again (a duplicate reply at
 * worst; the workflow ignores a repeated subscriber) rather than lost.
 * When Redis is down the guard is skipped, loudly: accepting work matters more.
 */
export function oncePerUpdate(redis: Redis, botId: string) {
  return async (ctx: BotContext, next: NextFunction): Promise<void> => {
    const key = `update:${botId}:${ctx.update.update_id}`;
    const redisDown = (err: unknown) =>
      ctx.log.error({ err: err instanceof Error ? err.message : String(err) }, 'Redis unavailable: duplicate-update protection is off');
    let seen = false;
    try {
      seen = (await redis.exists(key)) === 1;
    } catch (err) {
      redisDown(err);
    }
    if (seen) {
      ctx.log.info({ updateId: ctx.update.update_id }, 'update already handled; skipped');
      return;
    }
    try {
      await next();
    } finally {
      await redis.set(key, '1', 'EX', REMEMBER_SECONDS).catch(redisDown);
    }
  };
}
