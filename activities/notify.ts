import { ApplicationFailure } from '@temporalio/activity';
import { completedText, failedText } from '../lib/messages';
import { TelegramDeliveryError } from '../lib/telegram';
import type { DownloadOutcome, Subscriber } from '../workflows/definitions';
import { inActivityScope } from './activity-scope';
import type { ActivityDeps } from './deps';

export function createNotifyActivities(deps: ActivityDeps) {
  return {
    /** Tells one subscriber how their download ended, as a reply to the message that asked. */
    async notify(subscriber: Subscriber, url: string, outcome: DownloadOutcome): Promise<void> {
      await inActivityScope(deps.logger, subscriber.correlationId, async (log) => {
        const text = outcome.status === 'completed' ? completedText(url, outcome) : failedText(url, outcome.message);
        try {
          await deps.telegram.sendReply(subscriber.chatId, subscriber.messageId, text);
        } catch (err) {
          if (!(err instanceof TelegramDeliveryError)) throw err;
          log.warn({ chatId: subscriber.chatId, permanent: err.permanent, reason: err.message }, 'could not notify subscriber');
          throw ApplicationFailure.create({
            type: 'TelegramDelivery',
            message: err.message,
            nonRetryable: err.permanent,
            nextRetryDelay: err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : undefined,
          });
        }
        log.info({ chatId: subscriber.chatId, status: outcome.status }, 'subscriber notified');
      });
    },
  };
}
