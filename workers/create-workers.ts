import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import type { Config } from '../lib/config';
import { redact } from '../lib/logger';
import { redactFailures } from './redacted-failures';

export interface WorkerSet {
  /** Runs both workers until `shutdown()` is called or one of them fails. */
  run(): Promise<void>;
  shutdown(): void;
}

/**
 * Two workers on one connection: the main task queue hosts workflows and quick
 * activities; the download task queue hosts disk checks and downloads, bounded
 * by MAX_CONCURRENT so heavy work never starves the light work.
 */
export async function createWorkers(
  config: Pick<
    Config,
    'TEMPORAL_ADDRESS' | 'TEMPORAL_NAMESPACE' | 'TASK_QUEUE' | 'DOWNLOAD_TASK_QUEUE' | 'MAX_CONCURRENT' | 'WORKFLOW_THREADS'
  >,
  /** What each task queue serves: built by `createActivities(deps)`, or stand-ins in tests. */
  activities: { light: object; downloads: object },
  /** `secrets`: redacted from every activity failure before it is stored in a workflow's history. */
  options: { workflowBundle?: WorkflowBundleOption; secrets?: string[] } = {},
): Promise<WorkerSet> {
  const interceptors = { activity: [redactFailures((text) => redact(text, options.secrets ?? []))] };
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const workflows = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : { workflowsPath: require.resolve('../workflows') };
  const main = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TASK_QUEUE,
    ...workflows,
    activities: activities.light,
    interceptors,
    // Two workflow threads by default, not the SDK's one: every call into the workflow
    // sandbox runs under a timeout, for which Node starts and joins a watchdog thread
    // (about 90 us a call here, longer on a busy machine), and one thread waiting on
    // that holds up every workflow. Measured on 2 cores (BENCH_ONLY=feed, 300 entries):
    // median 29.9 s to start all entries with two threads, 32.8 s with one.
    workflowThreadPoolSize: config.WORKFLOW_THREADS,
  });
  const downloads = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.DOWNLOAD_TASK_QUEUE,
    activities: activities.downloads,
    interceptors,
    maxConcurrentActivityTaskExecutions: config.MAX_CONCURRENT,
    // A download learns it was paused or cancelled only when a heartbeat reaches the
    // server; the SDK's default throttling would hold them back for up to 80% of the
    // heartbeat timeout (48 s). A second keeps pause and cancel within seconds.
    maxHeartbeatThrottleInterval: '1 second',
    defaultHeartbeatThrottleInterval: '1 second',
    // On shutdown, give running downloads a moment to finish before they are
    // cancelled (they then resume from their partial file on the next attempt).
    shutdownGraceTime: '10 seconds',
  });
  const workers = [main, downloads];
  const shutdown = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  return {
    async run() {
      // If one worker fails, stop the other too, and report the first failure
      // rather than the error of closing a connection still in use.
      const results = await Promise.allSettled(workers.map((w) => w.run().catch((err: unknown) => (shutdown(), Promise.reject(err)))));
      await connection.close();
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    },
    shutdown,
  };
}
