import { Composer } from 'grammy';
import type { DownloadMode } from '../../domain/downloads/definitions';
import { findLinkCandidates } from '../../domain/downloads/links';
import { parseOptionWords } from '../../domain/downloads/options';
import type { BotContext } from '../context';
import { queueLinks } from '../queue-links';
import { DL_USAGE_TEXT, AUDIO_USAGE_TEXT, intakeReplyText } from '../replies';
import { linksFromEntities } from './links';

export const downloadsFeature = new Composer<BotContext>();

/**
 * `/dl <links> [720p] [mkv]` and `/audio <links> [m4a]`: links with options.
 * Every word that is not a link must be an option of the command: a typo is
 * named and nothing is queued.
 */
async function queueWithOptions(ctx: BotContext, mode: DownloadMode): Promise<void> {
  const message = ctx.msg!;
  const text = message.text ?? '';
  const args = typeof ctx.match === 'string' ? ctx.match : '';
  const words = args.split(/\s+/).filter(Boolean);
  const linkWords = new Set(words.filter((w) => findLinkCandidates(w).length > 0));
  const extraUrls = linksFromEntities(text, message.entities);
  // Links Telegram marked without a scheme ("youtu.be/abc") are links, not options.
  const marked = new Set(extraUrls.map((u) => u.replace(/^https:\/\//, '')));
  const optionWords = words.filter((w) => !linkWords.has(w) && !marked.has(w));
  const reply = (body: string) =>
    ctx.reply(body, {
      reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
      link_preview_options: { is_disabled: true },
    });

  const parsed = parseOptionWords(mode, optionWords);
  if (!parsed.ok) return void (await reply(`Nothing was queued: ${parsed.message}`));
  if (linkWords.size === 0 && extraUrls.length === 0) return void (await reply(mode === 'audio' ? AUDIO_USAGE_TEXT : DL_USAGE_TEXT));
  const report = await queueLinks(ctx.deps, {
    text: [...linkWords].join(' '),
    extraUrls,
    chatId: ctx.chat!.id,
    userId: ctx.from?.id ?? ctx.chat!.id,
    messageId: message.message_id,
    correlationId: ctx.correlationId,
    mode,
    asked: parsed.asked,
  });
  await reply(intakeReplyText(report));
}

downloadsFeature.command('dl', (ctx) => queueWithOptions(ctx, 'video'));
downloadsFeature.command('audio', (ctx) => queueWithOptions(ctx, 'audio'));
