import type { ActivityDeps } from './deps';
import { createControlActivities } from './control';
import { createDiskActivities } from './disk';
import { createDownloadActivities } from './download';
import { createNotifyActivities } from './notify';
import { createPlaylistActivities, createPlaylistListingActivities } from './playlist';
import { createMonitoringActivities } from './monitoring';
import { announcingStart, checkingSpaceFirst, createLifecycleActivities } from './lifecycle';
import { createRecordActivities } from './records';

export type { ActivityDeps } from './deps';

/** Whether everything is paused, from an answer of the control workflow up to a second old (shared by the worker's activities). */
function recentGlobalPause(deps: ActivityDeps) {
  const downloads = deps.downloads;
  if (!downloads) return undefined;
  return () =>
    downloads
      .globalState({ maxAgeMs: 1_000, deadlineMs: 1_000, serveStale: false })
      .then((view) => ({ paused: view.paused, by: view.pausedBy }));
}

/** Quick activities: they run on the main task queue beside the workflows. */
export function createLightActivities(deps: ActivityDeps) {
  const records = createRecordActivities(deps);
  return {
    ...records,
    ...createLifecycleActivities(records, {
      ...deps,
      recentGlobalPause: recentGlobalPause(deps),
    }),
    ...createNotifyActivities(deps),
    ...createControlActivities(deps),
    ...createPlaylistActivities(deps),
    ...createMonitoringActivities(deps),
  };
}

/** Activities that touch the download disk; their task queue bounds concurrency. */
export function createDownloadQueueActivities(deps: ActivityDeps) {
  const disk = createDiskActivities(deps);
  const downloads = createDownloadActivities(deps);
  return {
    ...disk,
    ...downloads,
    checkSpaceAndDownload: checkingSpaceFirst(disk.checkDiskSpace, downloads.download, announcingStart(deps.temporal, deps.logger)),
    ...createPlaylistListingActivities(deps),
  };
}

export type LightActivities = ReturnType<typeof createLightActivities>;
export type DownloadQueueActivities = ReturnType<typeof createDownloadQueueActivities>;

/** Both activity sets, as the worker registers them on its two task queues. */
export function createActivities(deps: ActivityDeps) {
  return { light: createLightActivities(deps), downloads: createDownloadQueueActivities(deps) };
}
