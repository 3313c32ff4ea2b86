/**
 * Who may use the bot, and how much: owner (ADMIN_IDS) > admin > user > trial >
 * none. A ban overrides every role but owner. Roles, bans and chat allowances
 * may expire; they are read against the clock on every use, so an expiry is
 * honoured to the second whatever any cache holds.
 */

export const ROLES = ['none', 'trial', 'user', 'admin', 'owner'] as const;
export type Role = (typeof ROLES)[number];
/** The roles that can be granted (owners come from ADMIN_IDS). */
export const GRANTABLE_ROLES = ['admin', 'user', 'trial'] as const;
export type GrantableRole = (typeof GRANTABLE_ROLES)[number];

export function rankOf(role: Role): number {
  return ROLES.indexOf(role);
}

/** At least `needed`. */
export function allows(role: Role, needed: Role): boolean {
  return rankOf(role) >= rankOf(needed);
}

/** What the database knows about one person. */
export interface UserRecord {
  userId: number;
  username: string | null;
  role: GrantableRole | null;
  roleExpiresAt: Date | null;
  banned: boolean;
  /** Null with `banned`: permanent. */
  banExpiresAt: Date | null;
}

/** A group chat whose members may all use the bot as users. */
export interface ChatAllowance {
  chatId: number;
  expiresAt: Date | null;
}

export interface Access {
  role: Role;
  /** When the role ends; null when it does not (or there is none). */
  expiresAt: Date | null;
  /** Where the role comes from. */
  via: 'owner' | 'grant' | 'chat' | 'none';
  /** Set when a ban is what keeps them out. */
  bannedUntil?: Date | 'forever';
}

const live = (expiresAt: Date | null, now: Date) => expiresAt === null || expiresAt.getTime() > now.getTime();

/** The role someone has right now, in this chat. */
export function effectiveAccess(
  userId: number,
  owners: readonly number[],
  record: UserRecord | null,
  chat: ChatAllowance | null,
  now: Date,
): Access {
  if (owners.includes(userId)) return { role: 'owner', expiresAt: null, via: 'owner' };
  if (record?.banned && live(record.banExpiresAt, now))
    return { role: 'none', expiresAt: null, via: 'none', bannedUntil: record.banExpiresAt ?? 'forever' };
  const granted: Access | null =
    record?.role && live(record.roleExpiresAt, now) ? { role: record.role, expiresAt: record.roleExpiresAt, via: 'grant' } : null;
  const fromChat: Access | null = chat && live(chat.expiresAt, now) ? { role: 'user', expiresAt: chat.expiresAt, via: 'chat' } : null;
  const best = [granted, fromChat]
    .filter((a): a is Access => a !== null)
    .sort((a, b) => rankOf(b.role) - rankOf(a.role) || laterFirst(a.expiresAt, b.expiresAt))[0];
  return best ?? { role: 'none', expiresAt: null, via: 'none' };
}

/** Of two equal roles, the one that lasts longer. */
function laterFirst(a: Date | null, b: Date | null): number {
  if (a === null) return b === null ? 0 : -1;
  if (b === null) return 1;
  return b.getTime() - a.getTime();
}

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };
/** Ten years: longer is a typo, and "forever" is said by leaving the duration out. */
const LONGEST_SECONDS = 3650 * 86_400;

/** "30d", "12h", "90m", "2w", "45s" as seconds, or null. */
export function parseDuration(text: string): number | null {
  const match = /^(\d{1,6})([smhdw])$/i.exec(text.trim());
  if (!match) return null;
  const seconds = Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]!;
  return seconds > 0 && seconds <= LONGEST_SECONDS ? seconds : null;
}

/** "2026-12-24 10:00 UTC (in 30 days)". */
export function describeExpiry(at: Date, now: Date): string {
  const stamp = `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `${stamp} (in ${describeSpan(Math.max(0, Math.round((at.getTime() - now.getTime()) / 1000)))})`;
}

/** A span in its largest sensible unit: "45 seconds", "3 hours", "30 days". */
export function describeSpan(seconds: number): string {
  const units: Array<[number, string]> = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size || size === 1) {
      const n = Math.max(1, Math.round(seconds / size));
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}
