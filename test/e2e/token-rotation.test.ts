import { replyTo } from '../support/bot-messages';
import { eventually } from '../support/eventually';
import { startProcessStack, type ProcessStack, type RunningProcess } from '../support/process-stack';
import { textMessage } from '../support/telegram-updates';

/**
 * The runbook's "Rotate the bot token" (docs/runbook.md, section 8), on the real
 * bot and worker processes against the fake Bot API standing in for Telegram and
 * @BotFather: the token is revoked while a download runs, the bot and the worker
 * are restarted with the new one, and the completion message the worker could
 * not send with the old token still arrives, once.
 */

const ADMIN = 6201;
const OLD_TOKEN = '555000111:OLDtokenForTheRotationTest_abcdefgh';
const NEW_TOKEN = '555000111:NEWtokenForTheRotationTest_ijklmnop';

let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ name: 'rotation', adminIds: String(ADMIN), token: OLD_TOKEN, media: true });
});

afterAll(() => stack?.stop());

function start(name: 'worker' | 'bot', token: string): RunningProcess {
  return stack.start(
    name,
    stack.env({
      TELEGRAM_BOT_TOKEN: token,
      TELEGRAM_UPLOAD_LIMIT_MB: '0', // completion messages as text
      ALLOW_PRIVATE_URLS: 'true', // the media server is on loopback
    }),
  );
}

test('revoked while a download runs: restarted with the new token, the bot answers and the held-up completion message arrives once', async () => {
  const worker = start('worker', OLD_TOKEN);
  const bot = start('bot', OLD_TOKEN);
  await eventually(() => stack.telegram.calls.some((c) => c.method === 'setMyCommands'), 30_000, 'the bot to start');

  // A download that is still running when the token is revoked.
  const url = stack.media.route('/rotation/clip.mp4', { delayMs: 2_000 });
  const asked = textMessage({ userId: ADMIN, text: url });
  stack.telegram.pushUpdate(asked);
  await stack.telegram.waitForCall(replyTo(ADMIN, asked.message.message_id, /Queued 1 download/), 30_000, 'the intake reply');

  // 1. @BotFather's /revoke: the old token is refused from now on.
  stack.telegram.revoke(NEW_TOKEN);
  // The download ends, and the worker's completion message is refused with 401 (Temporal will retry it).
  await eventually(() => stack.telegram.refused.some((r) => r.method === 'sendMessage'), 60_000, 'the completion message to be refused');

  // 2-3. The new token in the environment, and the bot and every worker restarted.
  await Promise.all([bot.stop(), worker.stop()]);
  const newWorker = start('worker', NEW_TOKEN);
  const newBot = start('bot', NEW_TOKEN);
  const refusedBefore = stack.telegram.refused.length;

  // 4. /start from an admin: answered.
  const hello = textMessage({ userId: ADMIN, text: '/start' });
  stack.telegram.pushUpdate(hello);
  const helloAt = Date.now();
  await stack.telegram.waitForCall(
    (c) =>
      c.method === 'sendMessage' &&
      Number(c.payload.chat_id) === ADMIN &&
      c.at >= helloAt &&
      /^Send me one or more links/.test(String(c.payload.text)),
    60_000,
    'the answer to /start',
  );
  // The completion message refused before the restart: retried by Temporal, sent by the new worker, once.
  await stack.telegram.waitForCall(replyTo(ADMIN, asked.message.message_id, /Downloaded/), 90_000, 'the completion message');
  await new Promise((r) => setTimeout(r, 1_000));
  expect(stack.telegram.calls.filter(replyTo(ADMIN, asked.message.message_id, /Downloaded/))).toHaveLength(1);
  expect(stack.telegram.refused.length).toBe(refusedBefore); // nothing uses the old token any more

  await Promise.all([newBot.stop(), newWorker.stop()]);
  // What journalctl would show: the old worker names the refusal; the new processes have no Unauthorized lines.
  expect(worker.output()).toMatch(/401 Unauthorized/);
  for (const p of [newBot, newWorker])
    expect({ process: p.name, unauthorized: /Unauthorized/.test(p.output()) }).toEqual({ process: p.name, unauthorized: false });
  // Neither token reaches a log line.
  for (const p of [bot, worker, newBot, newWorker])
    for (const token of [OLD_TOKEN, NEW_TOKEN])
      expect({ process: p.name, leaks: p.output().includes(token) || p.output().includes(token.split(':')[1]!) }).toEqual({
        process: p.name,
        leaks: false,
      });
}, 180_000);
