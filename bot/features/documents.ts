import { actorOf } from '../context';
import { Composer } from 'grammy';
import { humanSize } from '../../domain/downloads/messages';
import type { BotContext } from '../context';
import { sendKnownFiles } from '../known-files';
import { queueLinks } from '../queue-links';
import { intakeReplyText } from '../replies';

export const documentsFeature = new Composer<BotContext>();

/** A .txt file, by its name or its type. */
export function isTextFile(document: { file_name?: string; mime_type?: string }): boolean {
  return /\.txt$/i.test(document.file_name ?? '') || document.mime_type === 'text/plain';
}

/**
 * The text of a file's bytes, or null when they are not text (a NUL byte, or
 * not UTF-8). A file cut at the size cap may end inside a character or a line:
 * the partial last line is dropped.
 */
export function textOf(bytes: Buffer, truncated: boolean): string | null {
  let usable = bytes;
  if (truncated) {
    const lastBreak = bytes.lastIndexOf(0x0a);
    usable = lastBreak >= 0 ? bytes.subarray(0, lastBreak) : bytes.subarray(0, 0);
  }
  if (usable.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(usable);
  } catch {
    return null;
  }
}

/**
 * A .txt document: every link in it is queued (at most MAX_URLS_PER_FILE, from
 * at most MAX_TXT_BYTES of it), answered with one summary. Other documents are
 * not read.
 */
documentsFeature.on('message:document', async (ctx) => {
  const document = ctx.msg.document;
  const reply = (text: string) =>
    ctx.reply(text, {
      reply_parameters: { message_id: ctx.msg.message_id, allow_sending_without_reply: true },
      link_preview_options: { is_disabled: true },
    });
  if (!isTextFile(document)) {
    if (ctx.chat.type === 'private') await reply('I only read links from .txt files; send links as text or as a .txt file.');
    return;
  }
  const { settings, readTelegramFile } = ctx.deps;
  let bytes: Buffer;
  let truncated: boolean;
  try {
    const file = await ctx.api.getFile(document.file_id);
    if (!file.file_path) throw new Error('Telegram gave no path for the file');
    ({ bytes, truncated } = await readTelegramFile(file.file_path, settings.MAX_TXT_BYTES));
  } catch (err) {
    ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'could not read a .txt file');
    return void (await reply('I could not fetch that file from Telegram; please send it again in a moment.'));
  }
  const text = textOf(bytes, truncated);
  if (text === null) return void (await reply('That file is not text (it holds binary data); nothing was queued.'));
  const report = await queueLinks(ctx.deps, {
    requesterName: actorOf(ctx).name,
    text,
    extraUrls: [],
    chatId: ctx.chat.id,
    userId: ctx.from.id,
    messageId: ctx.msg.message_id,
    correlationId: ctx.correlationId,
    mode: 'video',
    role: ctx.access.role,
    fromFile: true,
  });
  if (truncated)
    report.notes = [
      `The file is longer than ${humanSize(settings.MAX_TXT_BYTES)}; only its first ${humanSize(settings.MAX_TXT_BYTES)} was read (MAX_TXT_BYTES).`,
      ...(report.notes ?? []),
    ];
  const summary = intakeReplyText(report);
  ctx.log.info({ bytes: bytes.length, truncated, queued: report.queued.length, rejected: report.rejected.length }, '.txt file read');
  await reply(summary || `I found no links in ${document.file_name ?? 'that file'}; nothing was queued.`);
  await sendKnownFiles(ctx, report, ctx.msg.message_id);
});
