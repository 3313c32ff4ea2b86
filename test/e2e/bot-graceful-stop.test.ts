import { createRedis, redisReady } from '../../lib/redis';
import { eventually } from '../support/eventually';
import type { RecordedCall } from '../support/fake-bot-api';
import { startProcessStack, type ProcessStack, type RunningProcess } from '../support/process-stack';
import { BOT_TOKEN } from '../support/stack';
import { textMessage } from '../support/telegram-updates';

/**
 * The real bot process (grammY's runner) told to stop while it is still
 * handling an update: it finishes that update before it exits, and the update
 * is answered exactly once across the restart.
 */

const OWNER = 6101;

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ name: 'graceful', adminIds: String(OWNER) });
});

afterAll(() => stack?.stop());

const startBot = (): RunningProcess => stack.start('bot', stack.env({ LOG_LEVEL: 'warn' }));

const isHelp = (c: RecordedCall) => c.method === 'sendMessage' && /^Send me one or more links/.test(String(c.payload.text));

test('a stop waits for the update in hand, which is answered exactly once across a restart', async () => {
  const first = startBot();
  await eventually(() => stack.telegram.calls.some((c) => c.method === 'setMyCommands'), 30_000, 'the bot to start');

  // Telegram takes 2 s to accept the answer: the bot is told to stop while it waits.
  stack.telegram.holdNextMs = 2_000;
  const updateId = stack.telegram.pushUpdate(textMessage({ userId: OWNER, text: '/help' }));
  await eventually(() => stack.telegram.calls.some(isHelp), 30_000, 'the answer to be on its way');
  const stoppedAt = Date.now();
  expect(await first.stop('SIGTERM')).toBe(0);
  // It exited only once the answer had gone through, and the update was marked handled in Redis
  // (the last step of handling it): services were not closed under a handler still running.
  expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1_500);
  const redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', stack.redisPrefix);
  try {
    await redisReady(redis);
    expect(await redis.exists(`update:${BOT_TOKEN.split(':')[0]}:${updateId}`)).toBe(1);
  } finally {
    redis.disconnect();
  }

  // The runner confirmed the update with its next fetch while the update was in hand, so
  // this stop had to finish it (or it would be lost); if it had come again, the Redis
  // guard would skip it. Either way it is answered once.
  const second = startBot();
  await eventually(() => stack.telegram.calls.filter((c) => c.method === 'setMyCommands').length >= 2, 30_000, 'the bot to start again');
  const before = stack.telegram.calls.length;
  stack.telegram.pushUpdate(textMessage({ userId: OWNER, text: '/whoami' }));
  await eventually(
    () => stack.telegram.calls.slice(before).some((c) => c.method === 'sendMessage' && /^You are 6101/.test(String(c.payload.text))),
    30_000,
    'the next update answered',
  );
  expect(stack.telegram.calls.filter(isHelp)).toHaveLength(1);
  expect(await second.stop('SIGINT')).toBe(0);
});
