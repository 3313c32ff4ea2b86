import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';

let bundle: Promise<WorkflowBundle> | undefined;

/** The workflow bundle, built once per test file (webpack is the slow part). */
export function workflowBundle(): Promise<WorkflowBundle> {
  bundle ??= bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '..', '..', 'workflows'), logger: quietLogger });
  return bundle;
}

const quietLogger = {
  log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined,
  warn: () => undefined, error: (message: string) => console.error(message),
};

export interface TestWorkers {
  taskQueue: string;
  downloadTaskQueue: string;
  stop(): Promise<void>;
}

/**
 * Runs a workflow worker and a download worker on task queues of their own, so
 * each test has its own activities even on a shared Temporal server.
 */
export async function startTestWorkers(options: {
  address: string;
  namespace: string;
  light: object;
  downloads: object;
  maxConcurrent?: number;
}): Promise<TestWorkers> {
  const id = randomBytes(4).toString('hex');
  const taskQueue = `test-${id}`;
  const downloadTaskQueue = `test-${id}-downloads`;
  const connection = await NativeConnection.connect({ address: options.address });
  const main = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: options.light,
  });
  const downloads = await Worker.create({
    connection,
    namespace: options.namespace,
    taskQueue: downloadTaskQueue,
    activities: options.downloads,
    maxConcurrentActivityTaskExecutions: options.maxConcurrent ?? 4,
  });
  const running = Promise.all([main.run(), downloads.run()]);
  return {
    taskQueue,
    downloadTaskQueue,
    async stop() {
      for (const w of [main, downloads]) if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await connection.close();
    },
  };
}
