import type { NextFunction } from 'grammy';
import { allows, type Role } from '../../domain/access/roles';
import { commandOf, commandSpec } from '../commands';
import { notAllowedText } from '../replies';
import type { BotContext } from '../context';

/** What sending links or a .txt file needs (the command table covers commands). */
export const DOWNLOAD_ROLE: Role = 'trial';

const ROLE_NAMES: Record<Role, string> = { none: 'nobody', trial: 'trial users', user: 'users', admin: 'admins', owner: 'owners' };

/** The inline buttons' prefixes and who may press them; the rest are admin buttons. */
const BUTTON_ROLES: Array<[prefix: string, role: Role]> = [
  ['queue:all:', 'admin'],
  ['queue:', DOWNLOAD_ROLE],
];

/** The command an update asks for (for the refusal's wording), and the lowest role that may do it. */
export function neededFor(ctx: Pick<BotContext, 'callbackQuery' | 'msg' | 'me'>): { command: string | null; role: Role } {
  const data = ctx.callbackQuery?.data;
  if (data !== undefined) return { command: null, role: BUTTON_ROLES.find(([prefix]) => data.startsWith(prefix))?.[1] ?? 'admin' };
  const text = ctx.msg?.text ?? ctx.msg?.caption ?? '';
  const found = commandOf(text);
  const spec = found && (!found.bot || found.bot.toLowerCase() === ctx.me.username.toLowerCase()) ? commandSpec(found.command) : undefined;
  return spec ? { command: spec.command, role: spec.role } : { command: null, role: DOWNLOAD_ROLE };
}

/**
 * Sets `ctx.access` and lets through only what the sender's role allows (the
 * command table says who may run what). Someone without access gets one short
 * refusal, then no reply at all for 10 minutes; in groups the bot only answers
 * them when addressed. A role too low for a command is told which role it needs.
 * With the database down, only owners get in (their role is in the configuration).
 */
export async function accessControl(ctx: BotContext, next: NextFunction): Promise<void> {
  const from = ctx.from;
  if (!from || from.is_bot) return;
  try {
    ctx.access = await ctx.deps.access.accessOf(from, ctx.chat);
  } catch (err) {
    ctx.log.error({ err: err instanceof Error ? err.message : String(err) }, 'could not read access; only owners get in');
    if (ctx.deps.settings.ADMIN_IDS.includes(from.id)) ctx.access = { role: 'owner', expiresAt: null, via: 'owner' };
    else {
      if (ctx.chat?.type === 'private') await ctx.reply('I cannot check who may use me right now; please try again in a minute.');
      return;
    }
  }
  const needed = neededFor(ctx);
  if (ctx.access.role === 'none') {
    ctx.log.warn({ userId: from.id, banned: ctx.access.bannedUntil !== undefined }, 'refused: no access');
    const addressed = ctx.chat?.type === 'private' || needed.command !== null || ctx.callbackQuery !== undefined;
    if (!addressed || !(await ctx.deps.limits.firstRefusal(from.id))) {
      if (ctx.callbackQuery) await ctx.answerCallbackQuery().catch(() => undefined);
      return;
    }
    const text = notAllowedText(from.id, ctx.access.bannedUntil);
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text, show_alert: true });
    else if (ctx.chat) await ctx.reply(text);
    return;
  }
  if (!allows(ctx.access.role, needed.role)) {
    ctx.log.info({ userId: from.id, role: ctx.access.role, needed: needed.role, command: needed.command }, 'refused: role too low');
    const what = needed.command ? `/${needed.command}` : 'That';
    const text = `${what} is for ${ROLE_NAMES[needed.role]} only; you are ${describeRole(ctx.access.role)}. /whoami tells you more.`;
    if (ctx.callbackQuery) await ctx.answerCallbackQuery({ text, show_alert: true });
    else await ctx.reply(text);
    return;
  }
  return next();
}

export function describeRole(role: Role): string {
  return role === 'none'
    ? 'not allowed in'
    : role === 'admin' || role === 'owner'
      ? `an ${role}`
      : `a ${role === 'trial' ? 'trial user' : 'user'}`;
}
