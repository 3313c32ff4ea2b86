import { randomBytes } from 'node:crypto';
import type { BotContext } from '../../bot/context';
import { oncePerUpdate } from '../../bot/middleware/once-per-update';
import { createLogger, LogCollector } from '../../lib/logger';
import { createRedis, redisReady, type Redis } from '../../lib/redis';
import { freePort } from '../support/free-port';
import { deleteKeys } from '../support/stack';

/** The bot's guard against Telegram delivering an update twice, on the real Redis. */

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
let redis: Redis;

beforeAll(async () => {
  redis = createRedis(REDIS_URL, `test:${randomBytes(4).toString('hex')}:`);
  await redisReady(redis);
});

afterAll(async () => {
  await deleteKeys(redis);
  redis.disconnect();
});

function contextFor(updateId: number, logs: LogCollector): BotContext {
  return { update: { update_id: updateId }, log: createLogger({ level: 'info', destination: logs }) } as unknown as BotContext;
}

test('an update delivered twice is handled once; other updates still pass', async () => {
  const guard = oncePerUpdate(redis, '4242');
  const logs = new LogCollector();
  const handled: number[] = [];
  for (const id of [10, 10, 11]) await guard(contextFor(id, logs), async () => void handled.push(id));

  expect(handled).toEqual([10, 11]);
  expect(logs.entries().map((e) => e.msg)).toContain('update already handled; skipped');
  expect(await redis.exists('update:4242:10')).toBe(1);
  expect(await redis.ttl('update:4242:10')).toBeGreaterThan(3600);
});

test('with Redis down every update is still handled, and the outage is logged as an error', async () => {
  const down = createRedis(`redis://127.0.0.1:${await freePort()}/0`, 'test:down:');
  down.on('error', () => undefined);
  try {
    const guard = oncePerUpdate(down, '4242');
    const logs = new LogCollector();
    const handled: number[] = [];
    for (const id of [20, 20]) await guard(contextFor(id, logs), async () => void handled.push(id));

    expect(handled).toEqual([20, 20]);
    const errors = logs.entries().filter((e) => e.level === 50);
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors.map((e) => e.msg))).toEqual(new Set(['Redis unavailable: duplicate-update protection is off']));
  } finally {
    down.disconnect();
  }
});

test('an update is marked only once handled, so one whose handler died halfway is handled on redelivery', async () => {
  const guard = oncePerUpdate(redis, '4242');
  const logs = new LogCollector();
  let markedWhileHandling: number | undefined;
  await guard(contextFor(30, logs), async () => {
    // A process killed here (OOM, SIGKILL) has not marked the update: Telegram's redelivery gets handled.
    markedWhileHandling = await redis.exists('update:4242:30');
  });
  expect(markedWhileHandling).toBe(0);
  expect(await redis.exists('update:4242:30')).toBe(1);
});
