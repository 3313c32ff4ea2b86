import { actorOf } from '../context';
import { Composer } from 'grammy';
import type { DownloadMode } from '../../domain/downloads/definitions';
import { findLinkCandidates } from '../../domain/downloads/links';
import { parseOptionWords } from '../../domain/downloads/options';
import type { BotContext } from '../context';
import { sendKnownFiles } from '../known-files';
import { followSingleDownload } from '../progress';
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
  const text = message.text ?? message.caption ?? '';
  const entities = message.entities ?? message.caption_entities ?? [];
  // Words after the command, with where they sit: a word Telegram marked as a link (or
  // that hides one behind it) is a link, whatever it reads; the other words are options.
  const words = [...text.matchAll(/\S+/g)].slice(1).map((m) => ({ word: m[0], from: m.index!, to: m.index! + m[0].length }));
  const marked = entities.filter((e) => e.type === 'url' || e.type === 'text_link');
  const isLink = (w: { word: string; from: number; to: number }) =>
    findLinkCandidates(w.word).length > 0 || marked.some((e) => e.offset < w.to && w.from < e.offset + e.length);
  const linkWords = words.filter(isLink).map((w) => w.word);
  const extraUrls = linksFromEntities(text, entities);
  const optionWords = words.filter((w) => !isLink(w)).map((w) => w.word);
  const reply = (body: string) =>
    ctx.reply(body, {
      reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true },
      link_preview_options: { is_disabled: true },
    });

  const parsed = parseOptionWords(mode, optionWords);
  if (!parsed.ok) return void (await reply(`Nothing was queued: ${parsed.message}`));
  // Without links of its own, a command sent as a reply takes the links of the message it answers.
  const quoted = message.reply_to_message;
  const quotedText = quoted ? (quoted.text ?? quoted.caption ?? '') : '';
  const useQuoted = linkWords.length === 0 && extraUrls.length === 0;
  const quotedLinks = useQuoted && quoted ? linksFromEntities(quotedText, quoted.entities ?? quoted.caption_entities) : [];
  if (useQuoted && findLinkCandidates(quotedText).length === 0 && quotedLinks.length === 0)
    return void (await reply(mode === 'audio' ? AUDIO_USAGE_TEXT : DL_USAGE_TEXT));
  const report = await queueLinks(ctx.deps, {
    requesterName: actorOf(ctx).name,
    text: useQuoted ? quotedText : linkWords.join(' '),
    extraUrls: useQuoted ? quotedLinks : extraUrls,
    chatId: ctx.chat!.id,
    userId: ctx.from?.id ?? ctx.chat!.id,
    messageId: message.message_id,
    correlationId: ctx.correlationId,
    role: ctx.access.role,
    mode,
    asked: parsed.asked,
  });
  const answer = await reply(intakeReplyText(report));
  await sendKnownFiles(ctx, report, message.message_id);
  await followSingleDownload(ctx, report, answer);
}

downloadsFeature.command('dl', (ctx) => queueWithOptions(ctx, 'video'));
downloadsFeature.command('audio', (ctx) => queueWithOptions(ctx, 'audio'));
