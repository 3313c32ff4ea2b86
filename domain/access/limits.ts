import type { Logger } from '../../lib/logger';
import type { Redis } from '../../lib/redis';

/** How often "Redis is down, limits are off" is logged while it stays down. */
const OUTAGE_LOG_INTERVAL_MS = 60_000;
/** How long someone without access is not answered again after one refusal. */
export const REFUSAL_QUIET_SECONDS = 600;

export interface Allowance {
  /** How many of the asked-for units may go ahead. */
  granted: number;
  /** How many had been used in the current window or day before this call. */
  usedBefore: number;
  /** Seconds until the window (or day) starts over. */
  resetsInSeconds: number;
  /** The counter taken from, for giving back (absent when nothing was counted). */
  key?: string;
}

/**
 * Counters kept in Redis: the per-user link rate (a fixed window), the trial
 * daily quota, and the quiet period after a refusal. When Redis is down every
 * check lets the request through (the bot keeps working without limits) and
 * the outage is logged at most once a minute.
 */
export class Limits {
  private lastOutageLog = 0;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Takes up to `wanted` links from the user's window of `windowSeconds`; `limit` 0 means none. */
  async takeRate(userId: number, wanted: number, limit: number, windowSeconds: number): Promise<Allowance> {
    const nowSeconds = Math.floor(this.clock() / 1000);
    const window = Math.floor(nowSeconds / windowSeconds);
    const resetsInSeconds = (window + 1) * windowSeconds - nowSeconds;
    if (limit === 0) return { granted: wanted, usedBefore: 0, resetsInSeconds };
    return this.take(`limit:rate:${userId}:${windowSeconds}:${window}`, wanted, limit, windowSeconds, resetsInSeconds);
  }

  /** Takes up to `wanted` downloads from a trial user's quota for today (UTC). */
  async takeDaily(userId: number, wanted: number, limit: number): Promise<Allowance> {
    const now = this.clock();
    const day = new Date(now).toISOString().slice(0, 10);
    const resetsInSeconds = Math.ceil((Date.parse(`${day}T00:00:00Z`) + 86_400_000 - now) / 1000);
    return this.take(`limit:trial:${userId}:${day}`, wanted, limit, 2 * 86_400, resetsInSeconds);
  }

  /**
   * Gives back up to `count` units taken but not used (links held back by a
   * later limit, or that could not be started), to the counter they were taken
   * from, never below zero and never creating a counter that has expired.
   */
  async giveBack(taken: Allowance, count: number): Promise<void> {
    const units = Math.min(count, taken.granted);
    if (!taken.key || units <= 0) return;
    await this.redis.eval(GIVE_BACK_SCRIPT, 1, taken.key, String(units)).catch((err: unknown) => this.outage(err));
  }

  /** True the first time in REFUSAL_QUIET_SECONDS that this user is refused: only then are they answered. */
  async firstRefusal(userId: number): Promise<boolean> {
    try {
      return (await this.redis.set(`limit:refused:${userId}`, '1', 'EX', REFUSAL_QUIET_SECONDS, 'NX')) === 'OK';
    } catch (err) {
      this.outage(err);
      return true;
    }
  }

  /**
   * Adds what is granted to the counter in one round trip (a Lua script, so two
   * messages of the same user at once cannot both take the last unit).
   */
  private async take(key: string, wanted: number, limit: number, ttlSeconds: number, resetsInSeconds: number): Promise<Allowance> {
    try {
      const [granted, usedBefore] = (await this.redis.eval(TAKE_SCRIPT, 1, key, String(wanted), String(limit), String(ttlSeconds))) as [
        number,
        number,
      ];
      return { granted, usedBefore, resetsInSeconds, key };
    } catch (err) {
      this.outage(err);
      return { granted: wanted, usedBefore: 0, resetsInSeconds };
    }
  }

  private outage(err: unknown): void {
    const now = this.clock();
    if (now - this.lastOutageLog < OUTAGE_LOG_INTERVAL_MS) return;
    this.lastOutageLog = now;
    this.logger.error(
      { err: err instanceof Error ? err.message : String(err) },
      'Redis unavailable: per-user limits are off until it is back',
    );
  }
}

/** KEYS[1] counter; ARGV units. Lowers an existing counter by at most its value. */
const GIVE_BACK_SCRIPT = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local units = math.min(tonumber(ARGV[1]), used)
if units > 0 then redis.call('DECRBY', KEYS[1], units) end
return units
`;

/** KEYS[1] counter; ARGV wanted, limit, ttl. Returns {granted, used before}. */
const TAKE_SCRIPT = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local wanted = tonumber(ARGV[1])
local room = tonumber(ARGV[2]) - used
if room < 0 then room = 0 end
local granted = math.min(wanted, room)
if granted > 0 then
  redis.call('INCRBY', KEYS[1], granted)
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {granted, used}
`;
