import fs from 'node:fs/promises';
import { ApplicationFailure } from '@temporalio/activity';
import { DISK_LOW, ERROR_KINDS } from '../domain/downloads/errors';
import { humanSize } from '../domain/downloads/messages';
import type { DownloadInput } from '../domain/downloads/definitions';
import { inActivityScope } from './activity-scope';
import type { ActivityDeps } from './deps';

/** Free bytes available to us on the file system holding `dir`. */
export async function freeBytesOnDisk(dir: string): Promise<number> {
  const stats = await fs.statfs(dir);
  return stats.bavail * stats.bsize;
}

export function createDiskActivities(deps: Pick<ActivityDeps, 'db' | 'logger' | 'downloadDir' | 'minDiskSpaceGb' | 'freeBytes'>) {
  return {
    /**
     * Passes when DOWNLOAD_DIR has at least MIN_DISK_SPACE_GB free. Otherwise it
     * fails retryably: Temporal re-runs it on a long interval, so the download
     * waits for space instead of failing, without growing the workflow history.
     */
    async checkDiskSpace(input: DownloadInput): Promise<void> {
      await inActivityScope(deps.logger, input.correlationId, async (log) => {
        let free: number;
        try {
          await fs.mkdir(deps.downloadDir, { recursive: true });
          free = await deps.freeBytes(deps.downloadDir);
        } catch (err) {
          // Permissions or a missing mount: waiting for space would only hide it for days.
          log.error({ err, dir: deps.downloadDir }, 'download directory unusable');
          throw ApplicationFailure.nonRetryable(ERROR_KINDS.StorageUnusable.message, 'StorageUnusable', {
            detail: err instanceof Error ? err.message : String(err),
          });
        }
        const needed = deps.minDiskSpaceGb * 1024 ** 3;
        if (free >= needed) return;
        log.warn({ freeBytes: free, neededBytes: needed, dir: deps.downloadDir }, 'disk space low; download waits');
        await deps.db.download
          .updateMany({ where: { contentKey: input.contentKey }, data: { state: 'waiting_for_disk' } })
          .catch((err: unknown) => log.error({ err }, 'could not record waiting_for_disk'));
        throw ApplicationFailure.retryable(
          `Only ${humanSize(free)} free in the download directory; waiting for ${humanSize(needed)}`,
          DISK_LOW,
        );
      });
    },
  };
}
