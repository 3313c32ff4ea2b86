import { Composer, InlineKeyboard } from 'grammy';
import type { CommandResult } from '../../domain/downloads/client';
import { actorOf, type BotContext } from '../context';
import { STATUS_BUTTON } from '../progress';

/**
 * /pause, /resume and /cancel: the bot words what the downloads client answers.
 * Without an ID they act on everything; /cancel all asks first.
 */
export const controlFeature = new Composer<BotContext>();

const CANCEL_ALL_CONFIRM = 'cancel-all:confirm';
const CANCEL_ALL_KEEP = 'cancel-all:keep';
/** How long the /cancel all question can be answered. */
const CANCEL_ALL_VALID_SECONDS = 300;
const UNAVAILABLE = 'The downloads service did not answer in time; try again in a moment.';

/** "⏸ Paused [1a2b3c4d]: ..." or "Could not pause: ...". */
function answerText(done: string, verb: string, result: CommandResult): string {
  return result.ok ? `${done} [${result.shortId}]: ${result.message}` : `Could not ${verb}: ${result.message}`;
}

controlFeature.command('pause', async (ctx) => {
  const id = ctx.match.trim();
  const { downloads } = ctx.deps;
  if (id) return void (await ctx.reply(answerText('⏸ Paused', 'pause', await downloads.pause(id, actorOf(ctx)))));
  const result = await downloads.pauseAll(actorOf(ctx));
  await ctx.reply(
    result.ok
      ? `⏸ Paused: ${result.message}. Links you send now wait too; /resume continues everything.`
      : `Could not pause: ${result.message}`,
  );
});

controlFeature.command('resume', async (ctx) => {
  const id = ctx.match.trim();
  const { downloads } = ctx.deps;
  if (id) return void (await ctx.reply(answerText('▶️ Resumed', 'resume', await downloads.resume(id, actorOf(ctx)))));
  const result = await downloads.resumeAll(actorOf(ctx));
  await ctx.reply(result.ok ? `▶️ Resumed: ${result.message}.` : `Could not resume: ${result.message}`);
});

controlFeature.command('cancel', async (ctx) => {
  const id = ctx.match.trim();
  if (!id)
    return void (await ctx.reply('Give the ID of the download to cancel (shown in brackets in my replies), or "all": /cancel 1a2b3c4d'));
  if (id.toLowerCase() !== 'all')
    return void (await ctx.reply(answerText('🚫 Cancelled', 'cancel', await ctx.deps.downloads.cancel(id, actorOf(ctx)))));
  const n = await ctx.deps.downloads.activeCount().catch(() => null);
  if (n === null) return void (await ctx.reply(UNAVAILABLE));
  if (n === 0) return void (await ctx.reply('Nothing to cancel: no download is queued or running.'));
  // The answer is good for a few minutes: an old button must not cancel what was queued since.
  const asked = Math.floor(Date.now() / 1000);
  const keyboard = new InlineKeyboard()
    .text(n === 1 ? 'Cancel it' : `Cancel all ${n}`, `${CANCEL_ALL_CONFIRM}:${asked}`)
    .text(n === 1 ? 'Keep it' : 'Keep them', CANCEL_ALL_KEEP);
  const what = n === 1 ? 'the one queued or running download' : `all ${n} queued and running downloads`;
  await ctx.reply(`Cancel ${what}? Partial files are removed and everyone who asked is told.`, { reply_markup: keyboard });
});

controlFeature.callbackQuery(new RegExp(`^${CANCEL_ALL_CONFIRM}:(\\d+)$`), async (ctx) => {
  await ctx.answerCallbackQuery();
  const asked = Number(ctx.match[1]);
  if (Date.now() / 1000 - asked > CANCEL_ALL_VALID_SECONDS) {
    return void (await ctx.editMessageText('This question has expired and nothing was cancelled; send /cancel all again.'));
  }
  const { cancelled, failed } = await ctx.deps.downloads.cancelAll(actorOf(ctx));
  const text = `🚫 Cancelled ${cancelled} download${cancelled === 1 ? '' : 's'}${failed ? ` (${failed} had already finished or could not be reached)` : ''}.`;
  await ctx.editMessageText(text);
});

controlFeature.callbackQuery(CANCEL_ALL_KEEP, async (ctx) => {
  await ctx.answerCallbackQuery();
  await ctx.editMessageText('Nothing was cancelled.');
});

/** The buttons under a status message (admins only: the access middleware checks). */
controlFeature.callbackQuery(STATUS_BUTTON, async (ctx) => {
  const [, action, id] = ctx.match as RegExpMatchArray as [string, 'pause' | 'resume' | 'cancel', string];
  const { downloads } = ctx.deps;
  const result =
    action === 'pause'
      ? await downloads.pause(id, actorOf(ctx))
      : action === 'resume'
        ? await downloads.resume(id, actorOf(ctx))
        : await downloads.cancel(id, actorOf(ctx));
  const done = { pause: '⏸ Paused', resume: '▶️ Resumed', cancel: '🚫 Cancelled' }[action];
  await ctx.answerCallbackQuery({ text: result.ok ? `${done}: ${result.message}` : `Could not ${action}: ${result.message}` });
  ctx.deps.progress.nudge(id);
});

/** /retry <id>: a new run of a failed download, and you are told how it ends; /retry all: every recent failed one. */
controlFeature.command('retry', async (ctx) => {
  const id = ctx.match.trim();
  const { downloads } = ctx.deps;
  const subscriber = {
    chatId: ctx.chat.id,
    userId: ctx.from?.id ?? ctx.chat.id,
    messageId: ctx.msg.message_id,
    correlationId: ctx.correlationId,
  };
  if (!id)
    return void (await ctx.reply(
      'Give the ID of the failed download to retry (shown in brackets in my replies), or "all": /retry 1a2b3c4d',
    ));
  if (id.toLowerCase() !== 'all') {
    const result = await downloads.retry(id, subscriber);
    return void (await ctx.reply(
      result.ok ? `🔁 Retrying [${result.shortId}]; you will be told how it ends.` : `Could not retry: ${result.message}`,
    ));
  }
  const keys = await downloads.failedKeys().catch(() => null);
  if (keys === null) return void (await ctx.reply(UNAVAILABLE));
  if (keys.length === 0) return void (await ctx.reply('Nothing to retry: no download has failed.'));
  const results = await Promise.all(keys.map((key) => downloads.retry(key, subscriber)));
  const retried = results.filter((r) => r.ok).length;
  await ctx.reply(
    `🔁 Retrying ${retried} failed download${retried === 1 ? '' : 's'}${retried < keys.length ? ` (${keys.length - retried} could not be)` : ''}; you will be told how each ends.`,
  );
});
