import { ApplicationFailure } from '@temporalio/activity';
import { shortId } from '../domain/downloads/definitions';
import { cancelledText, completedText, failedText, playlistText, type PlaylistMessage } from '../domain/downloads/messages';
import { TelegramDeliveryError } from '../lib/telegram';
import type { DownloadOutcome, Subscriber } from '../domain/downloads/definitions';
import { inActivityScope } from './activity-scope';
import type { ActivityDeps } from './deps';

/** Telegram's refusal, as a failure Temporal retries (or not) as Telegram asks. */
function deliveryFailure(err: TelegramDeliveryError): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'TelegramDelivery',
    message: err.message,
    nonRetryable: err.permanent,
    nextRetryDelay: err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : undefined,
  });
}

export function createNotifyActivities(deps: Pick<ActivityDeps, 'telegram' | 'logger'>) {
  return {
    /** Tells one person who asked for a playlist that its entries are queued, or how they all ended. */
    async notifyPlaylist(subscriber: Subscriber, message: PlaylistMessage): Promise<void> {
      await inActivityScope(deps.logger, subscriber.correlationId, async (log) => {
        try {
          await deps.telegram.sendReply(subscriber.chatId, subscriber.messageId, playlistText(message));
        } catch (err) {
          if (!(err instanceof TelegramDeliveryError)) throw err;
          log.warn({ chatId: subscriber.chatId, permanent: err.permanent, reason: err.message }, 'could not tell a playlist requester');
          throw deliveryFailure(err);
        }
        log.info({ chatId: subscriber.chatId, kind: message.kind }, 'playlist requester told');
      });
    },

    /**
     * Tells one subscriber how their download ended, as a reply to the message
     * that asked. (`contentKey` names the download; workflows of the first release do not pass it.)
     */
    async notify(subscriber: Subscriber, url: string, outcome: DownloadOutcome, contentKey?: string): Promise<void> {
      await inActivityScope(deps.logger, subscriber.correlationId, async (log) => {
        const id = contentKey ? shortId(contentKey) : null;
        const text =
          outcome.status === 'completed'
            ? completedText(url, outcome, id)
            : outcome.status === 'cancelled'
              ? cancelledText(url, outcome.by, id)
              : failedText(url, outcome.message, id);
        try {
          await deps.telegram.sendReply(subscriber.chatId, subscriber.messageId, text);
        } catch (err) {
          if (!(err instanceof TelegramDeliveryError)) throw err;
          log.warn({ chatId: subscriber.chatId, permanent: err.permanent, reason: err.message }, 'could not notify subscriber');
          throw deliveryFailure(err);
        }
        log.info({ chatId: subscriber.chatId, status: outcome.status }, 'subscriber notified');
      });
    },
  };
}
