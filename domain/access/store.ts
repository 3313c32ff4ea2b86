import type { Db } from '../../lib/db';
import type { Logger } from '../../lib/logger';
import type { Redis } from '../../lib/redis';
import { effectiveAccess, type Access, type ChatAllowance, type GrantableRole, type UserRecord } from './roles';

/**
 * How long a user's or chat's record stays in Redis. Changes made through this
 * store drop the cached copy at once; the TTL only bounds what a change made
 * straight in the database (by hand) takes to show. Expiry needs no TTL: it is
 * compared with the clock on every read.
 */
const CACHE_SECONDS = 300;

const userKey = (userId: number) => `access:user:${userId}`;
const chatKey = (chatId: number) => `access:chat:${chatId}`;

interface CachedUser {
  username: string | null;
  role: GrantableRole | null;
  roleExpiresAt: number | null;
  banned: boolean;
  banExpiresAt: number | null;
}

const toCached = (r: UserRecord | null): CachedUser | null =>
  r && {
    username: r.username,
    role: r.role,
    roleExpiresAt: r.roleExpiresAt?.getTime() ?? null,
    banned: r.banned,
    banExpiresAt: r.banExpiresAt?.getTime() ?? null,
  };

const fromCached = (userId: number, c: CachedUser | null): UserRecord | null =>
  c && {
    userId,
    username: c.username,
    role: c.role,
    roleExpiresAt: c.roleExpiresAt === null ? null : new Date(c.roleExpiresAt),
    banned: c.banned,
    banExpiresAt: c.banExpiresAt === null ? null : new Date(c.banExpiresAt),
  };

type UserRow = Awaited<ReturnType<Db['botUser']['findUnique']>>;

function recordOf(row: UserRow): UserRecord | null {
  if (!row) return null;
  return {
    userId: Number(row.userId),
    username: row.username,
    role: row.role,
    roleExpiresAt: row.roleExpiresAt,
    banned: row.banned,
    banExpiresAt: row.banExpiresAt,
  };
}

/** The person whose access a command changes, as the command named them. */
export type Target = { userId: number } | { username: string };

/**
 * Roles, bans and chat allowances: kept in PostgreSQL, read through a Redis
 * cache. With Redis down every read goes to the database; with the database
 * down only owners (from the configuration) get in.
 */
export class AccessStore {
  constructor(
    private readonly db: Db,
    private readonly redis: Redis,
    private readonly owners: readonly number[],
    private readonly logger: Logger,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** What `userId` may do in `chat` right now. Also notes their username, so `/grant @name` can find them. */
  async accessOf(user: { id: number; username?: string }, chat: { id: number; type: string } | undefined): Promise<Access> {
    const now = this.clock();
    // Owners come from the configuration: no lookup (nobody needs to find them by username).
    if (this.owners.includes(user.id)) return effectiveAccess(user.id, this.owners, null, null, now);
    const [record, allowance] = await Promise.all([
      this.userRecord(user.id),
      chat && chat.type !== 'private' ? this.chatAllowance(chat.id) : Promise.resolve(null),
    ]);
    const username = user.username?.toLowerCase() ?? null;
    if (username !== (record?.username ?? null)) void this.noteUsername(user).catch(() => undefined);
    return effectiveAccess(user.id, this.owners, record, allowance, now);
  }

  /** The stored record of one person (cached). */
  async userRecord(userId: number): Promise<UserRecord | null> {
    const cached = await this.cacheGet<CachedUser | null>(userKey(userId));
    if (cached !== undefined) return fromCached(userId, cached);
    const record = recordOf(await this.db.botUser.findUnique({ where: { userId: BigInt(userId) } }));
    await this.cacheSet(userKey(userId), toCached(record));
    return record;
  }

  async chatAllowance(chatId: number): Promise<ChatAllowance | null> {
    const cached = await this.cacheGet<{ expiresAt: number | null } | null>(chatKey(chatId));
    if (cached !== undefined) return cached && { chatId, expiresAt: cached.expiresAt === null ? null : new Date(cached.expiresAt) };
    const row = await this.db.allowedChat.findUnique({ where: { chatId: BigInt(chatId) } });
    const allowance = row ? { chatId, expiresAt: row.expiresAt } : null;
    await this.cacheSet(chatKey(chatId), allowance && { expiresAt: allowance.expiresAt?.getTime() ?? null });
    return allowance;
  }

  /** The user ID behind a target: as given, or looked up by a username the bot has seen. */
  async resolve(target: Target): Promise<number | null> {
    if ('userId' in target) return target.userId;
    const row = await this.db.botUser.findFirst({ where: { username: target.username.toLowerCase() }, orderBy: { updatedAt: 'desc' } });
    return row ? Number(row.userId) : null;
  }

  async grant(userId: number, role: GrantableRole, expiresAt: Date | null, by: number): Promise<void> {
    await this.updateUser(userId, { role, roleExpiresAt: expiresAt, changedBy: BigInt(by) });
  }

  /** False (and nothing written) when they had no role. */
  async revoke(userId: number, by: number): Promise<boolean> {
    const before = await this.freshRecord(userId);
    if (before?.role == null) return false;
    await this.updateUser(userId, { role: null, roleExpiresAt: null, changedBy: BigInt(by) });
    return true;
  }

  async ban(userId: number, until: Date | null, by: number): Promise<void> {
    await this.updateUser(userId, { banned: true, banExpiresAt: until, changedBy: BigInt(by) });
  }

  /** False (and nothing written) when they were not banned. */
  async unban(userId: number, by: number): Promise<boolean> {
    const before = await this.freshRecord(userId);
    if (!before?.banned) return false;
    await this.updateUser(userId, { banned: false, banExpiresAt: null, changedBy: BigInt(by) });
    return true;
  }

  async allowChat(chatId: number, expiresAt: Date | null, by: number): Promise<void> {
    await this.db.allowedChat.upsert({
      where: { chatId: BigInt(chatId) },
      create: { chatId: BigInt(chatId), expiresAt, grantedBy: BigInt(by) },
      update: { expiresAt, grantedBy: BigInt(by) },
    });
    await this.forget(chatKey(chatId));
  }

  async disallowChat(chatId: number): Promise<boolean> {
    const { count } = await this.db.allowedChat.deleteMany({ where: { chatId: BigInt(chatId) } });
    await this.forget(chatKey(chatId));
    return count > 0;
  }

  /** Everyone with a role that has not expired, for the per-person command menus. */
  async granted(): Promise<Array<{ userId: number; role: GrantableRole }>> {
    const now = this.clock();
    const rows = await this.db.botUser.findMany({
      where: { role: { not: null }, OR: [{ roleExpiresAt: null }, { roleExpiresAt: { gt: now } }] },
      select: { userId: true, role: true },
    });
    return rows.map((r) => ({ userId: Number(r.userId), role: r.role! }));
  }

  /** The record as the database has it now, bypassing the cache. */
  private async freshRecord(userId: number): Promise<UserRecord | null> {
    return recordOf(await this.db.botUser.findUnique({ where: { userId: BigInt(userId) } }));
  }

  /**
   * Writes a change and puts the new record in the cache at once (rather than
   * only dropping the old one, which a read in flight could put back).
   */
  private async updateUser(userId: number, data: Record<string, unknown>): Promise<void> {
    const row = await this.db.botUser.upsert({
      where: { userId: BigInt(userId) },
      create: { userId: BigInt(userId), ...data },
      update: data,
    });
    await this.redis
      .set(userKey(userId), JSON.stringify(toCached(recordOf(row))), 'EX', CACHE_SECONDS)
      .catch(() => this.forget(userKey(userId)));
  }

  /** A username belongs to one person at a time: whoever had it before loses it here. */
  private async noteUsername(user: { id: number; username?: string }): Promise<void> {
    const username = user.username?.toLowerCase() ?? null;
    const upsert = this.db.botUser.upsert({
      where: { userId: BigInt(user.id) },
      create: { userId: BigInt(user.id), username },
      update: { username },
    });
    if (username)
      await this.db.$transaction([
        this.db.botUser.updateMany({ where: { username, userId: { not: BigInt(user.id) } }, data: { username: null } }),
        upsert,
      ]);
    else await upsert;
    await this.forget(userKey(user.id));
  }

  /** undefined: not cached (or Redis is down). null: cached as "nothing stored". */
  private async cacheGet<T>(key: string): Promise<T | undefined> {
    try {
      const text = await this.redis.get(key);
      return text === null ? undefined : (JSON.parse(text) as T);
    } catch {
      return undefined;
    }
  }

  private async cacheSet(key: string, value: unknown): Promise<void> {
    await this.redis.set(key, JSON.stringify(value), 'EX', CACHE_SECONDS).catch(() => undefined);
  }

  /** Drops a cached copy after a change. If Redis is down the copy expires by itself within CACHE_SECONDS. */
  private async forget(key: string): Promise<void> {
    await this.redis.del(key).catch((err: unknown) => {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err), key }, 'could not drop a cached access record');
    });
  }
}
