import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { freePort } from '../support/free-port';
import { startProcessStack, type ProcessStack } from '../support/process-stack';

/**
 * The real worker process (`npm run worker`), started twice on the same
 * Temporal server: the housekeeping schedules are created by the first start
 * only, a pause an operator made in between stays, and each start serves its
 * own /metrics with the Temporal SDK's runtime metrics beside ours.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const TSX_LOADER = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
let stack: ProcessStack;
let client: Client;

beforeAll(async () => {
  stack = await startProcessStack({ name: 'worker-start', adminIds: '111' });
  client = new Client({ connection: await Connection.connect({ address: stack.temporal.address }) });
}, 90_000);

afterAll(async () => {
  await client?.connection.close();
  await stack?.stop();
});

/** Starts the worker entry point with its metrics on `metricsPort`; resolves once it says it started. */
const startWorker = (metricsPort: number, extra: Record<string, string> = {}) =>
  stack.startWorker(stack.env({ WORKER_METRICS_PORT: String(metricsPort), ...extra }));

async function scheduleIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const s of client.schedule.list()) ids.push(s.scheduleId);
  return ids.sort();
}

test('two worker starts (the second from a prebuilt workflow bundle) create the housekeeping schedules once and keep an operator pause; each serves /metrics', async () => {
  const port = await freePort();
  const first = await startWorker(port);
  expect(first.output()).toContain('housekeeping schedules created');
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  expect(metrics).toMatch(/^# TYPE mediadl_active_downloads gauge$/m);
  expect(metrics).toMatch(/^temporal_\w+/m);
  expect(await (await fetch(`http://127.0.0.1:${port}/other`)).text()).toMatch(/only route is GET \/metrics/);
  await first.stop('SIGINT');

  expect(await scheduleIds()).toEqual(['monitor-close-stale-incidents', 'monitor-prune-attempts']);
  // An operator pauses one in the Web UI; the next start leaves it paused.
  await client.schedule.getHandle('monitor-prune-attempts').pause('paused by the test, as an operator would');

  // The second start loads a bundle built ahead (npm run bundle), as the Docker image's workers do.
  const bundle = path.join(stack.dir, 'bundle', 'workflow-bundle.js');
  execFileSync(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, 'scripts', 'bundle-workflows.ts'), bundle], { stdio: 'ignore' });
  expect(fs.statSync(bundle).size).toBeGreaterThan(10_000);
  // The worker really runs the bundle it is given: a broken one stops it from starting.
  const broken = path.join(stack.dir, 'bundle', 'broken.js');
  fs.writeFileSync(broken, 'this is not a workflow bundle (');
  await expect(startWorker(port, { WORKFLOW_BUNDLE: broken })).rejects.toThrow(/the worker exited/);
  const second = await startWorker(port, { WORKFLOW_BUNDLE: bundle });
  expect(second.output()).not.toContain('housekeeping schedules created');
  expect(await scheduleIds()).toEqual(['monitor-close-stale-incidents', 'monitor-prune-attempts']);
  const pruning = await client.schedule.getHandle('monitor-prune-attempts').describe();
  expect(pruning.state.paused).toBe(true);
  const closing = await client.schedule.getHandle('monitor-close-stale-incidents').describe();
  expect(closing).toMatchObject({
    state: { paused: false },
    action: { workflowType: 'closeStaleIncidentsWorkflow', taskQueue: 'worker-start' },
  });
  await second.stop('SIGINT');
}, 150_000);
