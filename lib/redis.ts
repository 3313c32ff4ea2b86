import Redis from 'ioredis';

/**
 * A Redis client whose every key carries `prefix`, so several deployments (and
 * test runs) can share one server. While Redis is down a command fails within
 * about a second (one reconnection try, then a timeout) instead of waiting:
 * callers treat Redis as an optimisation and carry on without it.
 */
export function createRedis(url: string, prefix: string): Redis {
  return new Redis(url, {
    keyPrefix: prefix,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(times * 500, 5_000),
  });
}

export type { Redis };
