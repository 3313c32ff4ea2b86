import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities';
import { createNotifyActivities } from '../../activities/notify';
import { createLogger } from '../../lib/logger';
import { createTelegramApi, telegramNotifier } from '../../lib/telegram';
import type { DownloadOutcome, Subscriber } from '../../domain/downloads/definitions';
import { FakeBotApi } from '../support/fake-bot-api';
import { BOT_TOKEN } from '../support/stack';

/** The notify activity against a Bot API server: replies, and what Telegram refusals mean for retries. */

let telegram: FakeBotApi;
beforeAll(async () => {
  telegram = new FakeBotApi(BOT_TOKEN);
  await telegram.start();
});
afterAll(() => telegram.stop());

const outcome: DownloadOutcome = {
  status: 'completed',
  fromCache: false,
  title: 'A clip',
  filePath: 'a-clip-0123456789ab.mp4',
  sizeBytes: 46_166,
};

function notify(subscriber: Subscriber) {
  const deps = {
    telegram: telegramNotifier(createTelegramApi(BOT_TOKEN, telegram.apiRoot)),
    logger: createLogger({ level: 'silent' }),
  } as unknown as ActivityDeps;
  const env = new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR') });
  return env.run(createNotifyActivities(deps).notify, subscriber, 'https://example.com/a.mp4', outcome);
}

test('the completion message replies to the message that asked, without a link preview', async () => {
  await notify({ chatId: 501, userId: 501, messageId: 77, correlationId: 'n1' });
  const [call] = telegram.callsTo('sendMessage').filter((c) => Number(c.payload.chat_id) === 501);
  expect(call?.payload).toMatchObject({
    reply_parameters: { message_id: 77, allow_sending_without_reply: true },
    link_preview_options: { is_disabled: true },
  });
  expect(String(call?.payload.text)).toContain('Saved as: a-clip-0123456789ab.mp4');
});

test('a user who blocked the bot fails the notification for good (no pointless retries)', async () => {
  telegram.blockedChats.add(502);
  const failure = await notify({ chatId: 502, userId: 502, messageId: 1, correlationId: 'n2' }).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(ApplicationFailure);
  expect(failure).toMatchObject({ type: 'TelegramDelivery', nonRetryable: true });
  expect((failure as Error).message).toContain('403');
  expect((failure as Error).message).not.toContain(BOT_TOKEN);
});

test('Telegram rate limiting is retried after the delay Telegram asks for', async () => {
  telegram.rateLimitNext = 1;
  const failure = await notify({ chatId: 503, userId: 503, messageId: 1, correlationId: 'n3' }).catch((e: unknown) => e);
  expect(failure).toMatchObject({ type: 'TelegramDelivery', nonRetryable: false, nextRetryDelay: 1000 });
});
