import type { ActivityDeps } from './deps';
import { createControlActivities } from './control';
import { createDiskActivities } from './disk';
import { createDownloadActivities } from './download';
import { createNotifyActivities } from './notify';
import { createPlaylistActivities, createPlaylistListingActivities } from './playlist';
import { createMonitoringActivities } from './monitoring';
import { createRecordActivities } from './records';

export type { ActivityDeps } from './deps';

/** Quick activities: they run on the main task queue beside the workflows. */
export function createLightActivities(deps: ActivityDeps) {
  return {
    ...createRecordActivities(deps),
    ...createNotifyActivities(deps),
    ...createControlActivities(deps),
    ...createPlaylistActivities(deps),
    ...createMonitoringActivities(deps),
  };
}

/** Activities that touch the download disk; their task queue bounds concurrency. */
export function createDownloadQueueActivities(deps: ActivityDeps) {
  return { ...createDiskActivities(deps), ...createDownloadActivities(deps), ...createPlaylistListingActivities(deps) };
}

export type LightActivities = ReturnType<typeof createLightActivities>;
export type DownloadQueueActivities = ReturnType<typeof createDownloadQueueActivities>;

/** Both activity sets, as the worker registers them on its two task queues. */
export function createActivities(deps: ActivityDeps) {
  return { light: createLightActivities(deps), downloads: createDownloadQueueActivities(deps) };
}
