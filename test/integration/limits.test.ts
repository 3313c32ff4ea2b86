import { randomBytes } from 'node:crypto';
import { Limits } from '../../domain/access/limits';
import { createLogger, LogCollector } from '../../lib/logger';
import { createRedis, redisReady, type Redis } from '../../lib/redis';
import { freePort } from '../support/free-port';
import { deleteKeys } from '../support/stack';

/** The per-user counters on the real Redis, and what happens without it. */

let redis: Redis;
beforeAll(async () => {
  redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', `test:${randomBytes(4).toString('hex')}:`);
  await redisReady(redis);
});
afterAll(async () => {
  await deleteKeys(redis);
  redis.disconnect();
});

test('messages at once cannot together take more than the limit; the window says when it starts over', async () => {
  const at = Date.parse('2026-11-24T12:00:50Z');
  const limits = new Limits(redis, createLogger({ level: 'silent' }), () => at);
  const takes = await Promise.all([1, 2, 3, 4].map(() => limits.takeRate(42, 3, 5, 60)));
  expect(takes.reduce((n, t) => n + t.granted, 0)).toBe(5);
  expect(takes.every((t) => t.resetsInSeconds === 10)).toBe(true);
  // Given back, a link can be taken again (never more than was taken); the next window starts from nothing.
  await limits.giveBack(
    takes.find((t) => t.granted > 0)!,
    1,
  );
  expect((await limits.takeRate(42, 3, 5, 60)).granted).toBe(1);
  await limits.giveBack({ granted: 1, usedBefore: 0, resetsInSeconds: 1, key: 'limit:rate:none' }, 1);
  expect(await redis.exists('limit:rate:none')).toBe(0);
  const next = new Limits(redis, createLogger({ level: 'silent' }), () => at + 10_000);
  expect(await next.takeRate(42, 3, 5, 60)).toMatchObject({ granted: 3, usedBefore: 0, resetsInSeconds: 60 });
  // Limit 0: no limit.
  expect((await limits.takeRate(43, 1000, 0, 60)).granted).toBe(1000);
});

test('the trial quota counts per UTC day', async () => {
  const evening = Date.parse('2026-11-24T23:59:00Z');
  const today = new Limits(redis, createLogger({ level: 'silent' }), () => evening);
  expect(await today.takeDaily(7, 2, 3)).toEqual({ granted: 2, usedBefore: 0, resetsInSeconds: 60, key: 'limit:trial:7:2026-11-24' });
  expect((await today.takeDaily(7, 2, 3)).granted).toBe(1);
  expect((await today.takeDaily(7, 1, 3)).granted).toBe(0);
  const tomorrow = new Limits(redis, createLogger({ level: 'silent' }), () => evening + 120_000);
  expect((await tomorrow.takeDaily(7, 1, 3)).granted).toBe(1);
});

test('a refusal is given once per ten minutes', async () => {
  const limits = new Limits(redis, createLogger({ level: 'silent' }));
  expect(await limits.firstRefusal(99)).toBe(true);
  expect(await limits.firstRefusal(99)).toBe(false);
  expect(await redis.ttl('limit:refused:99')).toBeGreaterThan(590);
});

test('with Redis down everything is allowed at once, and the outage is logged once a minute', async () => {
  const down = createRedis(`redis://127.0.0.1:${await freePort()}/0`, 'test:down:');
  down.on('error', () => undefined);
  let now = Date.now();
  const logs = new LogCollector();
  const limits = new Limits(down, createLogger({ level: 'info', destination: logs }), () => now);
  try {
    expect((await limits.takeRate(1, 7, 2, 60)).granted).toBe(7);
    expect((await limits.takeDaily(1, 3, 1)).granted).toBe(3);
    expect(await limits.firstRefusal(1)).toBe(true);
    expect(logs.entries().filter((e) => e.msg === 'Redis unavailable: per-user limits are off until it is back')).toHaveLength(1);
    now += 61_000;
    await limits.takeRate(1, 1, 2, 60);
    expect(logs.entries().filter((e) => e.msg === 'Redis unavailable: per-user limits are off until it is back')).toHaveLength(2);
  } finally {
    down.disconnect();
  }
});
