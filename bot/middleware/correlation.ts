import type { NextFunction } from 'grammy';
import { newCorrelationId, withCorrelation } from '../../lib/correlation';
import type { BotContext, BotDeps } from '../context';

/**
 * Gives every update a correlation ID and a logger, and runs the rest of the
 * chain inside it, so every log line of this request carries the ID.
 */
export function correlation(deps: BotDeps) {
  return (ctx: BotContext, next: NextFunction) => {
    const correlationId = newCorrelationId();
    ctx.deps = deps;
    ctx.correlationId = correlationId;
    ctx.log = deps.logger;
    return withCorrelation(correlationId, async () => {
      ctx.log.info({ updateId: ctx.update.update_id, userId: ctx.from?.id, chatId: ctx.chat?.id }, 'update received');
      await next();
    });
  };
}
