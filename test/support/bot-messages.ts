import type { DownloadMode } from '../../domain/downloads/definitions';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import type { DownloadOptions } from '../../domain/downloads/options';
import type { FakeBotApi, RecordedCall } from './fake-bot-api';
import { textMessage } from './telegram-updates';

/** The content key of a link, as intake computes it (video with the default options unless given). */
export function keyOf(url: string, mode: DownloadMode = 'video', options?: DownloadOptions): string {
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error(`bad url ${url}`);
  return contentKeyFor(parsed.url, mode, options);
}

/** Matches the message sent to `chatId` as a reply to `messageId` whose text matches. */
export function replyTo(chatId: number, messageId: number, pattern: RegExp) {
  return (call: RecordedCall) =>
    call.method === 'sendMessage' &&
    Number(call.payload.chat_id) === chatId &&
    (call.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === messageId &&
    pattern.test(String(call.payload.text));
}

/** Sends `text` to the bot as `userId` (in their private chat) and returns the message's ID. */
export function sendText(telegram: FakeBotApi, text: string, userId: number): number {
  const update = textMessage({ userId, text });
  telegram.pushUpdate(update);
  return update.message.message_id;
}
