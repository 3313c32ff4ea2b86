import { Api } from 'grammy';

/** What the worker needs from Telegram: tell a chat something, as a reply when possible. */
export interface TelegramNotifier {
  sendReply(chatId: number, replyToMessageId: number, text: string): Promise<void>;
}

/** The Bot API client the worker uses, on the same API root as the bot. */
export function createTelegramApi(token: string, apiRoot: string): Api {
  return new Api(token, { apiRoot });
}

export function telegramNotifier(api: Api): TelegramNotifier {
  return {
    async sendReply(chatId, replyToMessageId, text) {
      await api.sendMessage(chatId, text, {
        reply_parameters: { message_id: replyToMessageId, allow_sending_without_reply: true },
        link_preview_options: { is_disabled: true },
      });
    },
  };
}
