import { Composer } from 'grammy';
import {
  allows,
  describeExpiry,
  describeSpan,
  GRANTABLE_ROLES,
  parseDuration,
  rankOf,
  type GrantableRole,
} from '../../domain/access/roles';
import type { Target } from '../../domain/access/store';
import { humanSize } from '../../domain/downloads/messages';
import { actorOf, type BotContext } from '../context';
import { describeRole } from '../middleware/access';

/**
 * /whoami, and the commands that change who may use the bot: /grant, /revoke,
 * /ban, /unban and /allowchat. Nobody acts on someone whose role is as high as
 * their own, and only owners grant admin; owners (ADMIN_IDS) cannot be changed.
 */
export const accessFeature = new Composer<BotContext>();

/** "12345" or "@name" as a target, or null. */
export function parseTarget(word: string | undefined): Target | null {
  if (!word) return null;
  if (/^\d{1,15}$/.test(word)) return { userId: Number(word) };
  const name = /^@([A-Za-z0-9_]{3,32})$/.exec(word);
  return name ? { username: name[1]! } : null;
}

const shownTarget = (target: Target, userId: number) => ('username' in target ? `@${target.username} (${userId})` : String(userId));

/**
 * The user a command names, when the sender may act on them: their present
 * role must be below the sender's. Replies and answers null otherwise.
 */
async function actionableTarget(
  ctx: BotContext,
  word: string | undefined,
  usage: string,
): Promise<{ userId: number; shown: string } | null> {
  const target = parseTarget(word);
  if (!target) {
    await ctx.reply(`Usage: ${usage}`);
    return null;
  }
  const { access, settings } = ctx.deps;
  const userId = await access.resolve(target);
  if (userId === null) {
    await ctx.reply(`I do not know ${word} yet: they must send me a message first, or use their numeric ID.`);
    return null;
  }
  const shown = shownTarget(target, userId);
  if (settings.ADMIN_IDS.includes(userId)) {
    await ctx.reply(`${shown} is an owner (ADMIN_IDS in the configuration); that cannot be changed here.`);
    return null;
  }
  // Their role as it stands now: one that has expired does not protect them.
  const record = await access.userRecord(userId);
  const theirs = record?.role && (!record.roleExpiresAt || record.roleExpiresAt.getTime() > Date.now()) ? record.role : null;
  if (theirs && rankOf(theirs) >= rankOf(ctx.access.role)) {
    await ctx.reply(`${shown} is ${describeRole(theirs)}, as high as you: only an owner can change that.`);
    return null;
  }
  return { userId, shown };
}

/** The optional duration word: seconds, null for "for good", or 'bad'. */
function durationOf(word: string | undefined): number | null | 'bad' {
  if (!word) return null;
  return parseDuration(word) ?? 'bad';
}

const BAD_DURATION = 'The duration must be a number and a unit: 45s, 90m, 12h, 30d or 2w (at most ten years).';
const expiryAt = (seconds: number | null) => (seconds === null ? null : new Date(Date.now() + seconds * 1000));
const lasting = (at: Date | null) => (at ? ` until ${describeExpiry(at, new Date())}` : ' for good');

accessFeature.command('whoami', async (ctx) => {
  const { access: me } = ctx;
  const { downloads, settings } = ctx.deps;
  const userId = ctx.from!.id;
  const role =
    me.via === 'owner'
      ? 'owner (ADMIN_IDS)'
      : `${describeRole(me.role).replace(/^an? /, '')}${me.via === 'chat' ? ' (everyone in this chat)' : ''}${me.expiresAt ? `, until ${describeExpiry(me.expiresAt, new Date())}` : ''}`;
  const active = await downloads.activeCountFor(userId).catch(() => null);
  const limited = !allows(me.role, 'admin');
  const lines = [
    `You are ${userId}${ctx.from!.username ? ` (@${ctx.from!.username})` : ''}.`,
    `Role: ${role}`,
    `Active downloads: ${active ?? 'unknown right now'}${limited && settings.MAX_USER_ACTIVE > 0 ? ` of at most ${settings.MAX_USER_ACTIVE}` : ''}`,
  ];
  if (!limited) lines.push('Limits: none (owners and admins have no per-user limits).');
  else {
    lines.push(
      settings.RATE_LIMIT_LINKS > 0
        ? `Rate: at most ${settings.RATE_LIMIT_LINKS} links per ${describeSpan(settings.RATE_LIMIT_WINDOW)}`
        : 'Rate: no limit',
    );
    if (me.role === 'trial')
      lines.push(
        `Trial: at most ${settings.TRIAL_DAILY_DOWNLOADS} downloads a day (UTC), each at most ${humanSize(settings.TRIAL_MAX_FILE_SIZE)}`,
      );
  }
  await ctx.reply(lines.join('\n'));
});

accessFeature.command('grant', async (ctx) => {
  const usage = '/grant <id|@user> <admin|user|trial> [30d]';
  const [who, roleWord, durationWord, extra] = ctx.match.trim().split(/\s+/).filter(Boolean);
  const role = roleWord?.toLowerCase() as GrantableRole | undefined;
  if (!role || !GRANTABLE_ROLES.includes(role) || extra) return void (await ctx.reply(`Usage: ${usage}`));
  const seconds = durationOf(durationWord);
  if (seconds === 'bad') return void (await ctx.reply(BAD_DURATION));
  if (rankOf(role) >= rankOf(ctx.access.role)) return void (await ctx.reply(`Only owners can grant ${role}.`));
  const target = await actionableTarget(ctx, who, usage);
  if (!target) return;
  const until = expiryAt(seconds);
  await ctx.deps.access.grant(target.userId, role, until, ctx.from!.id);
  await ctx.deps.menus.refresh(target.userId, role);
  ctx.log.info({ target: target.userId, role, until, by: actorOf(ctx).id }, 'role granted');
  await ctx.reply(`✅ ${target.shown} is now ${describeRole(role)}${lasting(until)}.`);
});

accessFeature.command('revoke', async (ctx) => {
  const [who, extra] = ctx.match.trim().split(/\s+/).filter(Boolean);
  const target = extra ? null : await actionableTarget(ctx, who, '/revoke <id|@user>');
  if (!target) return;
  const had = await ctx.deps.access.revoke(target.userId, ctx.from!.id);
  await ctx.deps.menus.refresh(target.userId, null);
  ctx.log.info({ target: target.userId, by: actorOf(ctx).id }, 'role revoked');
  await ctx.reply(had ? `✅ ${target.shown} has no role any more.` : `${target.shown} had no role; nothing changed.`);
});

accessFeature.command('ban', async (ctx) => {
  const [who, durationWord, extra] = ctx.match.trim().split(/\s+/).filter(Boolean);
  if (extra) return void (await ctx.reply('Usage: /ban <id|@user> [1h]'));
  const seconds = durationOf(durationWord);
  if (seconds === 'bad') return void (await ctx.reply(BAD_DURATION));
  const target = await actionableTarget(ctx, who, '/ban <id|@user> [1h]');
  if (!target) return;
  const until = expiryAt(seconds);
  await ctx.deps.access.ban(target.userId, until, ctx.from!.id);
  await ctx.deps.menus.refresh(target.userId, null);
  ctx.log.info({ target: target.userId, until, by: actorOf(ctx).id }, 'banned');
  await ctx.reply(`⛔ ${target.shown} is banned${lasting(until)}. Their downloads already queued go on; /cancel stops them.`);
});

accessFeature.command('unban', async (ctx) => {
  const [who, extra] = ctx.match.trim().split(/\s+/).filter(Boolean);
  const target = extra ? null : await actionableTarget(ctx, who, '/unban <id|@user>');
  if (!target) return;
  const was = await ctx.deps.access.unban(target.userId, ctx.from!.id);
  const role = (await ctx.deps.access.userRecord(target.userId))?.role ?? null;
  await ctx.deps.menus.refresh(target.userId, role);
  ctx.log.info({ target: target.userId, by: actorOf(ctx).id }, 'unbanned');
  await ctx.reply(was ? `✅ ${target.shown} is no longer banned.` : `${target.shown} was not banned; nothing changed.`);
});

accessFeature.command('allowchat', async (ctx) => {
  const chat = ctx.chat;
  if (chat.type === 'private') return void (await ctx.reply('Send /allowchat in the group whose members should all be able to use me.'));
  const word = ctx.match.trim().toLowerCase();
  if (word === 'off') {
    const was = await ctx.deps.access.disallowChat(chat.id);
    await ctx.deps.menus.refreshChat(chat.id, false);
    ctx.log.info({ chatId: chat.id, by: actorOf(ctx).id }, 'chat allowance ended');
    return void (await ctx.reply(
      was ? '✅ Members of this chat no longer get access through it.' : 'This chat was not allowed; nothing changed.',
    ));
  }
  const seconds = durationOf(word || undefined);
  if (seconds === 'bad' || word.includes(' ')) return void (await ctx.reply(`Usage: /allowchat [30d], or /allowchat off. ${BAD_DURATION}`));
  const until = expiryAt(seconds);
  await ctx.deps.access.allowChat(chat.id, until, ctx.from!.id);
  await ctx.deps.menus.refreshChat(chat.id, true);
  ctx.log.info({ chatId: chat.id, until, by: actorOf(ctx).id }, 'chat allowed');
  await ctx.reply(`✅ Everyone in this chat may use me as a user${lasting(until)}.`);
});
