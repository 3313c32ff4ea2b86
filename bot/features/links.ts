import { actorOf } from '../context';
import { Composer } from 'grammy';
import type { MessageEntity } from 'grammy/types';
import { commandOf, isKnownCommand } from '../commands';
import { intakeReplyText, NO_LINKS_TEXT, unknownCommandText } from '../replies';
import type { BotContext } from '../context';
import { sendKnownFiles } from '../known-files';
import { followSingleDownload } from '../progress';
import { queueLinks } from '../queue-links';

export const linksFeature = new Composer<BotContext>();

/**
 * Links Telegram marked that a scan of the words would miss: links hidden behind
 * text, and links written without a scheme ("youtu.be/abc"), which Telegram
 * highlights too. Entity offsets count UTF-16 units, as JavaScript strings do.
 */
export function linksFromEntities(text: string, entities: MessageEntity[] | undefined): string[] {
  return (entities ?? []).flatMap((e) => {
    if (e.type === 'text_link') return [e.url];
    if (e.type !== 'url') return [];
    const link = text.slice(e.offset, e.offset + e.length);
    // Links with a scheme or a leading "www." are found by the word scan already;
    // a bare name with no path ("README.md", "example.com") is not a media link.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(link) || /^www\./i.test(link) || !link.includes('/')) return [];
    return [`https://${link}`];
  });
}

/** Any text (or caption) that is not a command: its links are queued, and the reply says what happened to each. */
linksFeature.on(['message:text', 'message:caption'], async (ctx) => {
  const message = ctx.msg;
  const text = message.text ?? message.caption ?? '';
  if (text.startsWith('/')) {
    // A command no feature took: a hint, unless it was meant for another bot in a group.
    const found = commandOf(text);
    const forUs = !found?.bot || found.bot.toLowerCase() === ctx.me.username.toLowerCase();
    if (found && forUs && !isKnownCommand(found.command))
      await ctx.reply(unknownCommandText(found.command), {
        reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
      });
    return;
  }
  const report = await queueLinks(ctx.deps, {
    requesterName: actorOf(ctx).name,
    text,
    extraUrls: linksFromEntities(text, message.entities ?? message.caption_entities),
    chatId: ctx.chat.id,
    userId: ctx.from?.id ?? ctx.chat.id,
    messageId: message.message_id,
    correlationId: ctx.correlationId,
    role: ctx.access.role,
    mode: 'video',
  });
  const reply = intakeReplyText(report);
  if (!reply) {
    if (ctx.chat.type === 'private') await ctx.reply(NO_LINKS_TEXT);
    return;
  }
  const answer = await ctx.reply(reply, {
    reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
    link_preview_options: { is_disabled: true },
  });
  await sendKnownFiles(ctx, report, message.message_id);
  await followSingleDownload(ctx, report, answer);
});
