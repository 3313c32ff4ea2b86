import { freePort } from '../support/free-port';
import { askBot } from '../support/bot-messages';
import { ADMIN_ID, startStack, type Stack } from '../support/stack';

/**
 * With Redis down the bot keeps working: roles are read from PostgreSQL, links
 * are queued without the per-user limits that live in Redis, and the outage is
 * logged once a minute, not once a message.
 */

let stack: Stack;
beforeAll(async () => {
  // Nothing listens on this port: every Redis command fails.
  stack = await startStack({ REDIS_URL: `redis://127.0.0.1:${await freePort()}/0`, RATE_LIMIT_LINKS: '1', MAX_USER_ACTIVE: '0' });
});
afterAll(async () => {
  await stack?.stop();
});

const USER = 7001;

async function ask(userId: number, text: string): Promise<string> {
  return String((await askBot(stack.telegram, userId, text)).payload.text);
}

test('Redis down: roles still work from the database, and links pass without the rate limit, which is logged as off once a minute', async () => {
  expect(await ask(ADMIN_ID, `/grant ${USER} user`)).toBe(`✅ ${USER} is now a user for good.`);
  expect(await ask(USER, '/whoami')).toMatch(/\nRole: user\n/);
  // RATE_LIMIT_LINKS is 1: with Redis up the second link of each message would wait.
  const links = [0, 1, 2, 3].map((i) => stack.media.route(`/videos/no-redis-${i}.mp4`));
  expect(await ask(USER, `${links[0]} ${links[1]}`)).toMatch(/^Queued 2 downloads:/);
  expect(await ask(USER, `${links[2]} ${links[3]}`)).toMatch(/^Queued 2 downloads:/);
  const outage = stack.logs.entries().filter((e) => e.msg === 'Redis unavailable: per-user limits are off until it is back');
  expect(outage).toHaveLength(1);
  // Someone without access is still refused (without Redis, every time rather than once in ten minutes).
  expect(await ask(7002, '/status')).toMatch(/^Sorry, this bot is private/);
});
