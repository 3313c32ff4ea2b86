import { completedText } from '../domain/downloads/messages';
import { telegramNotifier } from '../lib/telegram';
import type { BotContext } from './context';
import type { IntakeReport } from './replies';

/** Most files sent back at once for one message (the rest are named in the reply). */
const MAX_FILES_PER_MESSAGE = 10;

/**
 * Links already downloaded whose file Telegram keeps from an earlier send are
 * answered with the file itself, by its file_id: no download and no upload.
 * Sent the way the worker sends files (lib/telegram.ts), through the bot's API.
 */
export async function sendKnownFiles(ctx: BotContext, report: IntakeReport, replyTo: number): Promise<void> {
  const known = report.alreadyDone.filter((d) => d.file.sent).slice(0, MAX_FILES_PER_MESSAGE);
  if (known.length === 0) return;
  const sender = telegramNotifier(ctx.api);
  for (const { url, shortId, file } of known) {
    await sender.sendFile(ctx.chat!.id, replyTo, file.sent!, completedText(url, file, shortId)).catch((err: unknown) => {
      // The reply already named the file and its path: a file_id Telegram refuses costs nothing more.
      ctx.log.warn({ err: err instanceof Error ? err.message : String(err), shortId }, 'could not send a known file by its file_id');
    });
  }
}
