import { completedText, failedText } from '../lib/messages';
import type { DownloadOutcome, Subscriber } from '../workflows/definitions';
import { inActivityScope } from './activity-scope';
import type { ActivityDeps } from './deps';

export function createNotifyActivities(deps: ActivityDeps) {
  return {
    /** Tells one subscriber how their download ended, as a reply to the message that asked. */
    async notify(subscriber: Subscriber, url: string, outcome: DownloadOutcome): Promise<void> {
      await inActivityScope(deps.logger, subscriber.correlationId, async (log) => {
        const text = outcome.status === 'completed' ? completedText(url, outcome) : failedText(url, outcome.message);
        await deps.telegram.sendReply(subscriber.chatId, subscriber.messageId, text);
        log.info({ chatId: subscriber.chatId, status: outcome.status }, 'subscriber notified');
      });
    },
  };
}
