import { Api, GrammyError, InputFile } from 'grammy';
import type { SentFile, SentKind } from '../domain/downloads/sent-files';

/** Telegram shows at most this many characters under a file. */
export const CAPTION_LIMIT = 1024;

/** What the worker needs from Telegram: tell a chat something, as a reply when possible, with a file when there is one. */
export interface TelegramNotifier {
  sendReply(chatId: number, replyToMessageId: number, text: string): Promise<void>;
  /**
   * Sends a file as a reply, with `caption` under it: uploaded from `path`, or
   * again by the file_id Telegram gave it before (no upload). Answers how
   * Telegram keeps the file now.
   */
  sendFile(
    chatId: number,
    replyToMessageId: number,
    file: { kind: SentKind; path?: string; fileId?: string },
    caption: string,
  ): Promise<SentFile>;
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
    async sendFile(chatId, replyToMessageId, file, caption) {
      const source = file.fileId ?? new InputFile(file.path!);
      const options = {
        caption: caption.length > CAPTION_LIMIT ? `${caption.slice(0, CAPTION_LIMIT - 1)}…` : caption,
        reply_parameters: { message_id: replyToMessageId, allow_sending_without_reply: true },
      };
      try {
        if (file.kind === 'video') {
          const sent = await api.sendVideo(chatId, source, { ...options, supports_streaming: true });
          return { fileId: sent.video?.file_id ?? '', kind: 'video' };
        }
        if (file.kind === 'audio') {
          const sent = await api.sendAudio(chatId, source, options);
          return { fileId: sent.audio?.file_id ?? '', kind: 'audio' };
        }
        const sent = await api.sendDocument(chatId, source, options);
        return { fileId: sent.document?.file_id ?? '', kind: 'document' };
      } catch (err) {
        throw deliveryError(err);
      }
    },
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

/** The notifier of a worker without a bot token: every message is refused for good (nobody on Telegram asked). */
export function noTelegram(): TelegramNotifier {
  const refuse = async (): Promise<never> => {
    throw new TelegramDeliveryError('TELEGRAM_BOT_TOKEN is not set on this worker', true);
  };
  return { sendReply: refuse, sendFile: refuse };
}

/** Reads the first `maxBytes` of a file someone sent the bot. */
export type TelegramFileReader = (filePath: string, maxBytes: number) => Promise<{ bytes: Buffer; truncated: boolean }>;

/**
 * Files are fetched from `<apiRoot>/file/bot<token>/<file_path>`: the URL holds
 * the token, so it never appears in an error or a log line. Reading stops at
 * `maxBytes`; the rest of the file is never downloaded.
 */
export function telegramFileReader(token: string, apiRoot: string, timeoutMs = 30_000): TelegramFileReader {
  return async (filePath, maxBytes) => {
    const url = `${apiRoot.replace(/\/+$/, '')}/file/bot${token}/${filePath.split('/').map(encodeURIComponent).join('/')}`;
    let response: Response;
    try {
      response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new Error(`the file could not be fetched from Telegram (${err instanceof Error ? err.name : 'error'})`);
    }
    if (!response.ok || !response.body) throw new Error(`Telegram answered ${response.status} for the file`);
    // One byte past the cap is enough to know the file is longer.
    const chunks: Buffer[] = [];
    let size = 0;
    const reader = response.body.getReader();
    try {
      while (size <= maxBytes) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(Buffer.from(value));
        size += value.byteLength;
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
    const all = Buffer.concat(chunks, size);
    return { bytes: all.subarray(0, maxBytes), truncated: size > maxBytes };
  };
}
