import { ApplicationFailure } from '@temporalio/activity';
import { shortId } from '../domain/downloads/definitions';
import fs from 'node:fs/promises';
import path from 'node:path';
import { completedLookup, forgetSentFile, rememberSentFile } from '../domain/downloads/completed';
import { cancelledText, completedText, failedText, humanSize, playlistText, type PlaylistMessage } from '../domain/downloads/messages';
import { sentKindOf, type SentFile } from '../domain/downloads/sent-files';
import type { Logger } from '../lib/logger';
import { TelegramDeliveryError } from '../lib/telegram';
import type { DownloadedFile, DownloadOutcome, Subscriber } from '../domain/downloads/definitions';
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

export function createNotifyActivities(deps: Pick<ActivityDeps, 'telegram' | 'logger' | 'db' | 'downloadDir' | 'uploadLimitBytes'>) {
  /** Uploads in progress in this worker, by content key: subscribers of one download share one upload. */
  const uploads = new Map<string, Promise<SentFile | null>>();

  /**
   * Sends the finished file itself as the completion message when it is within
   * the upload limit: by its cached file_id when Telegram has it already, else
   * uploaded once (the file_id is then remembered by content key). Answers
   * false when the file is not sent (too large, gone, or sending is off).
   */
  async function sendBack(
    subscriber: Subscriber,
    contentKey: string,
    file: DownloadedFile,
    caption: string,
    log: Logger,
  ): Promise<boolean> {
    if (deps.uploadLimitBytes <= 0 || file.sizeBytes > deps.uploadLimitBytes) return false;
    const send = (sent: SentFile) => deps.telegram.sendFile(subscriber.chatId, subscriber.messageId, sent, caption);
    const pending = uploads.get(contentKey);
    if (pending) {
      // Another subscriber's send is under way: wait for its file_id and send that.
      const sent = await pending.catch(() => null);
      if (sent) {
        await send(sent);
        return true;
      }
    }
    // Claimed before anything is awaited, so subscribers notified at once share one upload.
    let settle: (sent: SentFile | null) => void = () => undefined;
    const mine = pending ? null : new Promise<SentFile | null>((resolve) => (settle = resolve));
    if (mine) uploads.set(contentKey, mine);
    try {
      const sent = await sendOrUpload(subscriber, contentKey, file, caption, log);
      settle(sent?.fileId ? sent : null);
      return sent !== null;
    } catch (err) {
      settle(null);
      throw err;
    } finally {
      if (mine) uploads.delete(contentKey);
    }
  }

  /** Sends the file by its cached file_id, or uploads it (and remembers the file_id); null when it is not on disk. */
  async function sendOrUpload(
    subscriber: Subscriber,
    contentKey: string,
    file: DownloadedFile,
    caption: string,
    log: Logger,
  ): Promise<SentFile | null> {
    const known = await completedLookup(deps.db, deps.downloadDir)(contentKey).catch(() => null);
    if (known?.sent) {
      try {
        await deps.telegram.sendFile(subscriber.chatId, subscriber.messageId, known.sent, caption);
        log.info({ chatId: subscriber.chatId, kind: known.sent.kind }, 'file sent again by its file_id');
        return known.sent;
      } catch (err) {
        // A file_id Telegram no longer takes is forgotten and the file uploaded afresh.
        if (!(err instanceof TelegramDeliveryError) || !err.permanent) throw err;
        log.warn({ reason: err.message }, 'cached file_id refused; uploading the file again');
        await forgetSentFile(deps.db, contentKey);
      }
    }
    const fullPath = path.join(deps.downloadDir, file.filePath);
    const onDisk = await fs.stat(fullPath).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!onDisk) return null;
    const sent = await deps.telegram.sendFile(
      subscriber.chatId,
      subscriber.messageId,
      { kind: sentKindOf(file.filePath), path: fullPath },
      caption,
    );
    if (sent.fileId) await rememberSentFile(deps.db, contentKey, sent);
    log.info({ chatId: subscriber.chatId, kind: sent.kind, bytes: file.sizeBytes }, 'file uploaded');
    return sent;
  }

  return {
    /** Tells one person who asked for a playlist that its entries are queued, or how they all ended. */
    async notifyPlaylist(subscriber: Subscriber, message: PlaylistMessage): Promise<void> {
      await inActivityScope(deps.logger, subscriber.correlationId, async (log) => {
        if (subscriber.via === 'cli') return void log.info({ kind: message.kind }, 'an operator asked: nobody to tell on Telegram');
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
        if (subscriber.via === 'cli') return void log.info({ status: outcome.status }, 'an operator asked: nobody to tell on Telegram');
        const id = contentKey ? shortId(contentKey) : null;
        const text =
          outcome.status === 'completed'
            ? completedText(url, outcome, id)
            : outcome.status === 'cancelled'
              ? cancelledText(url, outcome.by, id)
              : failedText(url, outcome.message, id);
        try {
          const sentFile =
            outcome.status === 'completed' && contentKey ? await sendBack(subscriber, contentKey, outcome, text, log) : false;
          if (!sentFile) {
            const over = outcome.status === 'completed' && deps.uploadLimitBytes > 0 && outcome.sizeBytes > deps.uploadLimitBytes;
            const note = over
              ? `\nToo large to send here (the limit is ${humanSize(deps.uploadLimitBytes)}); it is on the server at the path above.`
              : '';
            await deps.telegram.sendReply(subscriber.chatId, subscriber.messageId, `${text}${note}`);
          }
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
