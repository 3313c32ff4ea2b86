import type { MessageEntity, Update } from 'grammy/types';

let nextMessageId = 1;

export interface TextMessageOptions {
  userId: number;
  chatId?: number;
  text: string;
  messageId?: number;
  firstName?: string;
  username?: string;
}

/** Entities Telegram itself would attach: a leading /command and every http(s) link. */
function entitiesOf(text: string): MessageEntity[] {
  const entities: MessageEntity[] = [];
  const command = /^\/[a-z_]+(@\w+)?/i.exec(text);
  if (command) entities.push({ type: 'bot_command', offset: 0, length: command[0].length });
  for (const m of text.matchAll(/https?:\/\/\S+/g)) entities.push({ type: 'url', offset: m.index!, length: m[0].length });
  return entities;
}

/** A private-chat (or group, with `chatId`) text message update, as Telegram sends it. */
export function textMessage(o: TextMessageOptions): { message: NonNullable<Update['message']> } {
  const chatId = o.chatId ?? o.userId;
  const entities = entitiesOf(o.text);
  const message = {
    message_id: o.messageId ?? nextMessageId++,
    date: Math.floor(Date.now() / 1000),
    chat:
      chatId > 0
        ? { id: chatId, type: 'private' as const, first_name: o.firstName ?? 'User' }
        : { id: chatId, type: 'group' as const, title: 'Group' },
    from: { id: o.userId, is_bot: false, first_name: o.firstName ?? 'User', ...(o.username ? { username: o.username } : {}) },
    text: o.text,
    ...(entities.length ? { entities } : {}),
  } as NonNullable<Update['message']>;
  return { message };
}

/** A press of an inline button (`data`) under one of the bot's messages in a private chat. */
export function callbackQuery(o: { userId: number; data: string; messageId?: number }): {
  callback_query: NonNullable<Update['callback_query']>;
} {
  const from = { id: o.userId, is_bot: false, first_name: 'User' };
  return {
    callback_query: {
      id: String(nextMessageId++),
      from,
      chat_instance: String(o.userId),
      data: o.data,
      message: {
        message_id: o.messageId ?? nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: o.userId, type: 'private', first_name: 'User' },
        text: '(a question from the bot)',
      },
    } as NonNullable<Update['callback_query']>,
  };
}

/** A document message (a file sent to the bot), in a private chat unless `chatId` is given. */
export function documentMessage(o: {
  userId: number;
  chatId?: number;
  file: { file_id: string; file_unique_id: string; file_size: number };
  fileName: string;
  mimeType?: string;
}): { message: NonNullable<Update['message']> } {
  const chatId = o.chatId ?? o.userId;
  return {
    message: {
      message_id: nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: chatId > 0 ? { id: chatId, type: 'private', first_name: 'User' } : { id: chatId, type: 'group', title: 'Group' },
      from: { id: o.userId, is_bot: false, first_name: 'User' },
      document: { ...o.file, file_name: o.fileName, ...(o.mimeType ? { mime_type: o.mimeType } : {}) },
    } as NonNullable<Update['message']>,
  };
}
