import Redis from 'ioredis';

/**
 * A Redis client whose every key carries `prefix`, so several deployments (and
 * test runs) can share one server. Callers treat Redis as an optimisation and
 * carry on without it, so a command never waits for Redis to come back: while
 * the connection is down it fails at once (no offline queue), and a command
 * sent on a live connection that hangs fails after a second.
 */
export function createRedis(url: string, prefix: string): Redis {
  return new Redis(url, {
    keyPrefix: prefix,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 500, 5_000),
  });
}

/**
 * Waits until `redis` is connected, or `timeoutMs` has passed (Redis down at
 * start-up is not fatal). Without an offline queue, commands sent before the
 * first connection would fail: entry points wait here first.
 */
export async function redisReady(redis: Redis, timeoutMs = 2_000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}

export type { Redis };
