import { autoRetry } from '@grammyjs/auto-retry';
import { sequentialize } from '@grammyjs/runner';
import { Bot, BotError, GrammyError, HttpError } from 'grammy';
import { telegramFileReader } from '../lib/telegram';
import { internalErrorText } from './replies';
import type { BotContext, BotDeps } from './context';
import { accessFeature } from './features/access';
import { controlFeature } from './features/control';
import { documentsFeature } from './features/documents';
import { downloadsFeature } from './features/downloads';
import { queueFeature } from './features/queue';
import { recordsFeature } from './features/records';
import { statusFeature } from './features/status';
import { linksFeature } from './features/links';
import { monitorFeature } from './features/monitor';
import { startFeature } from './features/start';
import { CommandMenus } from './menus';
import { ProgressWatcher } from './progress';
import { accessControl } from './middleware/access';
import { correlation } from './middleware/correlation';
import { oncePerUpdate } from './middleware/once-per-update';
import type { BotServices } from './services';

/** The updates the bot handles: messages, and the buttons it sends. */
export const ALLOWED_UPDATES = ['message', 'callback_query'] as const;

/** How long one outgoing Bot API call may wait for Telegram's 429 retry_after before it gives up. */
const MAX_RETRY_AFTER_SECONDS = 60;

export interface BotConnection {
  token: string;
  /** The Bot API root: the public one, a self-hosted server, or a test's fake. */
  apiRoot: string;
}

/**
 * Assembles the bot. Updates of one chat are handled one after another
 * (sequentialize), different chats at once (run it with grammY's runner).
 * Outgoing calls wait out Telegram's 429s (auto-retry honours retry_after).
 * Internal errors are logged with the correlation ID and the user only sees
 * that ID, never the error itself.
 */
export function createBot(services: BotServices, connection: BotConnection): { bot: Bot<BotContext>; progress: ProgressWatcher } {
  const bot = new Bot<BotContext>(connection.token, { client: { apiRoot: connection.apiRoot } });
  bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: MAX_RETRY_AFTER_SECONDS }));
  // The runner retries a failed getUpdates by itself (silently): it is logged here, as
  // describeError words it (the method and Telegram's answer, never the URL with the token).
  bot.api.config.use(async (prev, method, payload, signal) => {
    try {
      return await prev(method, payload, signal);
    } catch (err) {
      if (method === 'getUpdates' && !signal?.aborted)
        services.logger.warn({ err: describeError(err) }, 'could not fetch updates; retrying');
      throw err;
    }
  });
  const deps: BotDeps = {
    ...services,
    menus: new CommandMenus(bot.api, services.access, services.settings.ADMIN_IDS, services.logger),
    readTelegramFile: telegramFileReader(connection.token, connection.apiRoot),
    progress: new ProgressWatcher(bot.api, services.downloads, services.redis, services.logger),
  };
  bot.use(sequentialize((ctx) => (ctx.chat ?? ctx.from)?.id.toString()));
  bot.use(correlation(deps));
  // The token's numeric part is the bot's ID: public, and stable across restarts.
  bot.use(oncePerUpdate(deps.redis, connection.token.split(':')[0]!));
  const features = bot.errorBoundary(async (error: BotError<BotContext>) => {
    const ctx = error.ctx;
    ctx.log.error({ err: describeError(error.error) }, 'update failed');
    if (ctx.chat) await ctx.reply(internalErrorText(ctx.correlationId)).catch(() => undefined);
  });
  features.use(accessControl);
  features.use(startFeature);
  features.use(accessFeature);
  features.use(controlFeature);
  features.use(downloadsFeature);
  features.use(statusFeature);
  features.use(queueFeature);
  features.use(recordsFeature);
  features.use(monitorFeature);
  features.use(documentsFeature);
  features.use(linksFeature);
  bot.catch((error) => {
    deps.logger.error({ err: describeError(error.error) }, 'unhandled bot error');
  });
  return { bot, progress: deps.progress };
}

/** Bot API errors say which method failed; keep that, drop the request payload. */
function describeError(error: unknown): unknown {
  if (error instanceof GrammyError)
    return { type: 'GrammyError', method: error.method, code: error.error_code, description: error.description };
  if (error instanceof HttpError) return { type: 'HttpError', message: error.message };
  return error;
}
