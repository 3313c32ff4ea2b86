import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
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
}): Promise<TestWorkers> {
  const id = randomBytes(4).toString('hex');
  const taskQueue = `test-${id}`;
  const downloadTaskQueue = `test-${id}-downloads`;
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
    { light: { runningDownloads: async () => [], ...options.light }, downloads: options.downloads },
    { workflowBundle: await workflowBundle(), secrets: options.secrets },
  );
  const running = workers.run();
  return {
    taskQueue,
    downloadTaskQueue,
    async stop() {
      workers.shutdown();
      await running;
    },
  };
}
