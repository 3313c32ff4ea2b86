import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { spawnEntryPoint } from '../support/entry-points';
import { eventually } from '../support/eventually';
import { FakeBotApi } from '../support/fake-bot-api';
import { freePort } from '../support/free-port';
import { BOT_TOKEN } from '../support/stack';
import { startTemporal, type TestTemporal } from '../support/temporal-server';

/**
 * The real worker process (`npm run worker`), started twice on the same
 * Temporal server: the housekeeping schedules are created by the first start
 * only, a pause an operator made in between stays, and each start serves its
 * own /metrics with the Temporal SDK's runtime metrics beside ours.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const TSX_LOADER = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');
let dir: string;
let temporal: TestTemporal;
let database: TestDatabase;
let telegram: FakeBotApi;
let client: Client;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-worker-start-'));
  telegram = new FakeBotApi(BOT_TOKEN);
  [temporal, database] = await Promise.all([startTemporal(), createTestDatabase(), telegram.start()]);
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
}, 90_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await client?.connection.close();
  await Promise.all([temporal?.stop(), database?.drop(), telegram?.stop()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Starts the worker entry point; resolves with its output so far once it says it started. */
async function startWorker(
  metricsPort: number,
  extra: Record<string, string> = {},
): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawnEntryPoint('worker', {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEGRAM_BOT_TOKEN: BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      ADMIN_IDS: '111',
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      TASK_QUEUE: 'worker-start',
      DOWNLOAD_TASK_QUEUE: 'worker-start-downloads',
      DOWNLOAD_DIR: path.join(dir, 'downloads'),
      MIN_DISK_SPACE_GB: '0',
      WORKER_METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'info',
      ...extra,
    },
  });
  children.push(child);
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => (output += d.toString()));
  await eventually(() => output.includes('"worker started"') || child.exitCode !== null, 60_000, 'the worker to start');
  if (child.exitCode !== null) throw new Error(`the worker exited (${child.exitCode}): ${output}`);
  return { child, output: () => output };
}

async function stopWorker(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
}

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
  await stopWorker(first.child);

  expect(await scheduleIds()).toEqual(['monitor-close-stale-incidents', 'monitor-prune-attempts']);
  // An operator pauses one in the Web UI; the next start leaves it paused.
  await client.schedule.getHandle('monitor-prune-attempts').pause('paused by the test, as an operator would');

  // The second start loads a bundle built ahead (npm run bundle), as the Docker image's workers do.
  const bundle = path.join(dir, 'bundle', 'workflow-bundle.js');
  execFileSync(process.execPath, ['--import', TSX_LOADER, path.join(ROOT, 'scripts', 'bundle-workflows.ts'), bundle], { stdio: 'ignore' });
  expect(fs.statSync(bundle).size).toBeGreaterThan(10_000);
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
  await stopWorker(second.child);
}, 150_000);
