import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { announcingStart, checkingSpaceFirst, createLifecycleActivities, type RecordSteps } from '../../activities/lifecycle';
import { controlQuery, controlWorkflowId, type DownloadInput, type GlobalPauseState } from '../../domain/downloads/definitions';
import { createLogger } from '../../lib/logger';
import { createWorkers } from '../../workers/create-workers';

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow bundle, built once per test file (webpack is the slow part). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '..', '..', 'workflows'), logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => console.error(message),
};

export interface TestWorkers {
  taskQueue: string;
  downloadTaskQueue: string;
  stop(): Promise<void>;
}

/**
 * The production worker set (workers/create-workers.ts) on task queues of its
 * own, so each test serves its own activities even on a shared Temporal server.
 */
export async function startTestWorkers(options: {
  address: string;
  namespace: string;
  light: object;
  downloads: object;
  maxConcurrent?: number;
  secrets?: string[];
  /** The first step's look at the global pause (default: a fresh query of the control workflow). */
  recentGlobalPause?: () => Promise<GlobalPauseState | null>;
}): Promise<TestWorkers> {
  const id = randomBytes(4).toString('hex');
  const taskQueue = `test-${id}`;
  const downloadTaskQueue = `test-${id}-downloads`;
  const connection = await Connection.connect({ address: options.address });
  const client = new Client({ connection, namespace: options.namespace });
  const workers = await createWorkers(
    {
      TEMPORAL_ADDRESS: options.address,
      TEMPORAL_NAMESPACE: options.namespace,
      TASK_QUEUE: taskQueue,
      DOWNLOAD_TASK_QUEUE: downloadTaskQueue,
      MAX_CONCURRENT: options.maxConcurrent ?? 4,
      // Tests start many workers: one thread loads the workflow bundle once, not twice.
      WORKFLOW_THREADS: 1,
    },
    // The control workflow's look-up: nothing else runs on these test queues.
    {
      light: withComposedSteps(options.light, client, taskQueue, options.recentGlobalPause),
      downloads: withComposedDownloadStep(options.downloads, client),
    },
    { workflowBundle: await workflowBundle(), secrets: options.secrets },
  );
  const running = workers.run();
  return {
    taskQueue,
    downloadTaskQueue,
    async stop() {
      workers.shutdown();
      await running;
      await connection.close();
    },
  };
}

/**
 * The control workflow's look-up (nothing else runs on these test queues), and
 * a download's first and last steps composed from a test's `dedup` and
 * `recordResult` by the production code, as the worker composes the real ones.
 */
function withComposedSteps(light: object, client: Client, taskQueue: string, look?: () => Promise<GlobalPauseState | null>): object {
  const steps = light as Partial<RecordSteps>;
  // The worker's look is up to a second old; here it is fresh, so tests know what the first step assumed.
  const recentGlobalPause =
    look ??
    (() =>
      client.workflow
        .getHandle(controlWorkflowId(taskQueue))
        .query(controlQuery)
        .then((view) => ({ paused: view.paused, by: view.pausedBy })));
  const composed =
    !('beginDownload' in light) && steps.dedup && steps.recordResult
      ? createLifecycleActivities(steps as RecordSteps, { temporal: client, logger: createLogger({ level: 'silent' }), recentGlobalPause })
      : {};
  return { runningDownloads: async () => [], ...composed, ...light };
}

/** The download step (disk check, then download) composed from a test's `checkDiskSpace` and `download`. */
function withComposedDownloadStep(downloads: object, client: Client): object {
  const parts = downloads as {
    checkDiskSpace?: (input: DownloadInput) => Promise<void>;
    download?: (input: DownloadInput) => Promise<unknown>;
  };
  if ('checkSpaceAndDownload' in downloads || !parts.checkDiskSpace || !parts.download) return downloads;
  return {
    ...downloads,
    checkSpaceAndDownload: checkingSpaceFirst(
      parts.checkDiskSpace,
      parts.download,
      announcingStart(client, createLogger({ level: 'silent' })),
    ),
  };
}
