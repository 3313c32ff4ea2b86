import { Context } from '@temporalio/activity';
import { findCompletedOnDisk } from '../domain/downloads/completed';
import type { Db } from '../lib/db';
import type { DownloadedFile, DownloadInput, DownloadOutcome, Subscriber } from '../domain/downloads/definitions';
import { inActivityScope } from './activity-scope';
import type { ActivityDeps } from './deps';

async function recordRequests(db: Db, contentKey: string, subscribers: Subscriber[]): Promise<void> {
  if (subscribers.length === 0) return;
  await db.downloadRequest.createMany({
    data: subscribers.map((s) => ({
      contentKey,
      chatId: BigInt(s.chatId),
      userId: BigInt(s.userId),
      messageId: s.messageId,
      correlationId: s.correlationId,
    })),
    skipDuplicates: true,
  });
}

export function createRecordActivities(deps: Pick<ActivityDeps, 'db' | 'logger' | 'downloadDir'>) {
  const { db } = deps;
  return {
    /** Dedup: answers from an earlier download still on disk, or opens the record for this one. */
    async dedup(input: DownloadInput, subscribers: Subscriber[]): Promise<DownloadedFile | null> {
      return inActivityScope(deps.logger, input.correlationId, async (log) => {
        const existing = await findCompletedOnDisk(db, deps.downloadDir, input.contentKey);
        if (existing) {
          await recordRequests(db, input.contentKey, subscribers);
          log.info({ file: existing.filePath }, 'already downloaded and on disk; not downloading again');
          return existing;
        }
        const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
        const opened = {
          state: 'queued' as const,
          workflowId,
          correlationId: input.correlationId,
          error: null,
          errorKind: null,
          finishedAt: null,
          attempts: 0,
        };
        await db.download.upsert({
          where: { contentKey: input.contentKey },
          create: {
            contentKey: input.contentKey,
            url: input.url,
            normalizedUrl: input.normalizedUrl,
            platform: input.platform,
            videoId: input.videoId,
            mode: input.mode,
            ...opened,
          },
          update: opened,
        });
        await recordRequests(db, input.contentKey, subscribers);
        log.info('download record opened');
        return null;
      });
    },

    /**
     * A playlist's record: its title, and how it ended. It has no file of its
     * own (its entries have theirs), so the same link sent again lists it afresh.
     */
    async recordPlaylist(
      input: DownloadInput,
      result: { state: 'downloading' | 'completed' | 'failed' | 'cancelled'; title: string | null; error?: string },
    ): Promise<void> {
      await inActivityScope(deps.logger, input.correlationId, async (log) => {
        const ended = result.state !== 'downloading';
        await db.download.updateMany({
          where: { contentKey: input.contentKey },
          data: {
            state: result.state,
            ...(result.title ? { title: result.title } : {}),
            error: result.error ?? null,
            errorKind: result.state === 'failed' ? 'Playlist' : result.state === 'cancelled' ? 'Cancelled' : null,
            ...(ended ? { finishedAt: new Date() } : {}),
          },
        });
        log.info({ state: result.state }, 'playlist recorded');
      });
    },

    /** Writes the final state, and everyone who asked for it, to the record. */
    async recordResult(input: DownloadInput, outcome: DownloadOutcome, subscribers: Subscriber[]): Promise<void> {
      await inActivityScope(deps.logger, input.correlationId, async (log) => {
        const finishedAt = new Date();
        const data =
          outcome.status === 'completed'
            ? {
                state: 'completed' as const,
                title: outcome.title,
                filePath: outcome.filePath,
                sizeBytes: BigInt(outcome.sizeBytes),
                error: null,
                errorKind: null,
                finishedAt,
              }
            : outcome.status === 'cancelled'
              ? { state: 'cancelled' as const, error: `cancelled by ${outcome.by.name}`, errorKind: 'Cancelled', finishedAt }
              : { state: 'failed' as const, error: outcome.message, errorKind: outcome.errorKind, finishedAt };
        await db.download.updateMany({ where: { contentKey: input.contentKey }, data });
        await recordRequests(db, input.contentKey, subscribers);
        log.info({ state: data.state }, 'download result recorded');
      });
    },
  };
}
