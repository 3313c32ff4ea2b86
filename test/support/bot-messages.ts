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

/** The message a call replies to (multipart calls carry reply_parameters as JSON text). */
export function replyTarget(call: RecordedCall): number | undefined {
  const given = call.payload.reply_parameters;
  const parsed = (typeof given === 'string' ? JSON.parse(given) : given) as { message_id?: number } | undefined;
  return parsed?.message_id;
}

/**
 * Sends `text` as `userId` (in their private chat, or `chatId`) and returns the
 * bot's answer: the next message to that chat that replies to it, or that
 * replies to nothing (command answers); completion messages, which reply to
 * earlier requests, are not taken for it.
 */
export async function askBot(
  telegram: FakeBotApi,
  userId: number,
  text: string,
  o: { chatId?: number; username?: string } = {},
): Promise<RecordedCall> {
  const chatId = o.chatId ?? userId;
  const from = telegram.calls.length;
  const update = textMessage({ userId, chatId, text, ...(o.username ? { username: o.username } : {}) });
  telegram.pushUpdate(update);
  return telegram.waitForCall(
    (c) =>
      telegram.calls.indexOf(c) >= from &&
      c.method === 'sendMessage' &&
      Number(c.payload.chat_id) === chatId &&
      [undefined, update.message.message_id].includes(replyTarget(c)),
    30_000,
    `the answer to ${text}`,
  );
}
