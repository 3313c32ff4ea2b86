import { Bot, BotError, GrammyError, HttpError } from 'grammy';
import { internalErrorText } from './replies';
import type { BotContext, BotDeps } from './context';
import { controlFeature } from './features/control';
import { downloadsFeature } from './features/downloads';
import { queueFeature } from './features/queue';
import { statusFeature } from './features/status';
import { linksFeature } from './features/links';
import { startFeature } from './features/start';
import { adminOnly } from './middleware/admin-only';
import { correlation } from './middleware/correlation';
import { oncePerUpdate } from './middleware/once-per-update';

/** The commands the menu shows: from the one command table (bot/commands.ts). */
export { BOT_COMMANDS } from './commands';

/** The updates the bot handles: messages, and the buttons it sends. */
export const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

export interface BotConnection {
  token: string;
  /** The Bot API root: the public one, a self-hosted server, or a test's fake. */
  apiRoot: string;
}

/**
 * Assembles the bot. Internal errors are logged with the correlation ID and the
 * user only sees that ID, never the error itself.
 */
export function createBot(deps: BotDeps, connection: BotConnection): Bot<BotContext> {
  const bot = new Bot<BotContext>(connection.token, { client: { apiRoot: connection.apiRoot } });
  bot.use(correlation(deps));
  // The token's numeric part is the bot's ID: public, and stable across restarts.
  bot.use(oncePerUpdate(deps.redis, connection.token.split(':')[0]!));
  const features = bot.errorBoundary(async (error: BotError<BotContext>) => {
    const ctx = error.ctx;
    ctx.log.error({ err: describeError(error.error) }, 'update failed');
    if (ctx.chat) await ctx.reply(internalErrorText(ctx.correlationId)).catch(() => undefined);
  });
  features.use(adminOnly);
  features.use(startFeature);
  features.use(controlFeature);
  features.use(downloadsFeature);
  features.use(statusFeature);
  features.use(queueFeature);
  features.use(linksFeature);
  bot.catch((error) => {
    deps.logger.error({ err: describeError(error.error) }, 'unhandled bot error');
  });
  return bot;
}

/** Bot API errors say which method failed; keep that, drop the request payload. */
function describeError(error: unknown): unknown {
  if (error instanceof GrammyError)
    return { type: 'GrammyError', method: error.method, code: error.error_code, description: error.description };
  if (error instanceof HttpError) return { type: 'HttpError', message: error.message };
  return error;
}
