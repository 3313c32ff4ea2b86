import { Api, GrammyError } from 'grammy';

/** What the worker needs from Telegram: tell a chat something, as a reply when possible. */
export interface TelegramNotifier {
  sendReply(chatId: number, replyToMessageId: number, text: string): Promise<void>;
}

/** The Bot API client the worker uses, on the same API root as the bot. */
export function createTelegramApi(token: string, apiRoot: string): Api {
  return new Api(token, { apiRoot });
}

/** Telegram would not take a message. `permanent` when retrying cannot help. */
export class TelegramDeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'TelegramDeliveryError';
  }
}

/**
 * 400 (chat not found, bad request) and 403 (the user blocked the bot) will not
 * change by retrying; 429 says how long to wait; anything else may pass later.
 */
export function deliveryError(err: unknown): TelegramDeliveryError {
  if (err instanceof GrammyError) {
    const message = `Telegram refused ${err.method}: ${err.error_code} ${err.description}`;
    if (err.error_code === 429) return new TelegramDeliveryError(message, false, err.parameters.retry_after);
    return new TelegramDeliveryError(message, err.error_code === 400 || err.error_code === 403);
  }
  return new TelegramDeliveryError(`Telegram could not be reached: ${err instanceof Error ? err.message : String(err)}`, false);
}

export function telegramNotifier(api: Api): TelegramNotifier {
  return {
    async sendReply(chatId, replyToMessageId, text) {
      try {
        await api.sendMessage(chatId, text, {
          reply_parameters: { message_id: replyToMessageId, allow_sending_without_reply: true },
          link_preview_options: { is_disabled: true },
        });
      } catch (err) {
        throw deliveryError(err);
      }
    },
  };
}
