import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createLifecycleActivities, type RecordSteps } from '../../activities/lifecycle';
import type { DownloadedFile, DownloadInput, DownloadOutcome, Subscriber } from '../../domain/downloads/definitions';
import { createLogger, LogCollector } from '../../lib/logger';
import { startTemporal, type TestTemporal } from '../support/temporal-server';

/**
 * A download's first and last activities (downloads-lean-v2) when the
 * workflows they talk to are missing or silent: the download goes on, and
 * says why in the log. With the control workflow running they are exercised
 * by the downloads-client and end-to-end tests.
 */

let temporal: TestTemporal;
let client: Client;

beforeAll(async () => {
  temporal = await startTemporal();
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
}, 60_000);

afterAll(async () => {
  await client?.connection.close();
  await temporal?.stop();
});

const FILE: DownloadedFile = { title: 'Clip', filePath: 'clip.mp4', sizeBytes: 12 };
const input = { contentKey: 'c'.repeat(64), correlationId: 'lifecycle-test' } as DownloadInput;
const subscriber: Subscriber = { chatId: 5, userId: 5, messageId: 1, correlationId: 'lifecycle-test' };

function recordSteps(onDisk: DownloadedFile | null) {
  const recorded: Array<{ outcome: DownloadOutcome; subscribers: Subscriber[] }> = [];
  const steps: RecordSteps = {
    dedup: async () => onDisk,
    recordResult: async (_input, outcome, subscribers) => {
      recorded.push({ outcome, subscribers });
    },
  };
  return { steps, recorded };
}

function run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  const env = new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR') });
  return env.run(fn, ...args);
}

test('with no control workflow running, the first step answers dedup and leaves the download unpaused, saying so once', async () => {
  const { steps } = recordSteps(FILE);
  const log = new LogCollector();
  const activities = createLifecycleActivities(steps, { temporal: client, logger: createLogger({ level: 'info', destination: log }) });
  expect(await run(activities.beginDownload, input, [subscriber], 'downloads-control-nobody-runs-this')).toEqual({
    onDisk: FILE,
    globalPause: null,
  });
  expect(log.entries().filter((e) => e.msg === 'could not register with the control workflow')).toHaveLength(1);
});

/** The `register` signals a control workflow received (no worker runs it: the history keeps them). */
async function registrations(controlId: string): Promise<unknown[]> {
  const history = await client.workflow.getHandle(controlId).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName !== 'register') return [];
    return [JSON.parse(Buffer.from(signal.input!.payloads![0]!.data!).toString('utf8'))];
  });
}

test('the registration tells the control workflow what the download assumes: the recent look, or "not paused" when the look fails', async () => {
  const controlId = 'downloads-control-assumptions';
  await client.workflow.start('downloadsControlWorkflow', { workflowId: controlId, taskQueue: 'no-worker-polls-this', args: [] });
  const pausedBy = { id: 'test', name: 'the test' };
  const log = new LogCollector();
  const logger = createLogger({ level: 'info', destination: log });
  try {
    const paused = createLifecycleActivities(recordSteps(null).steps, {
      temporal: client,
      logger,
      recentGlobalPause: async () => ({ paused: true, by: pausedBy }),
    });
    expect(await run(paused.beginDownload, input, [], controlId)).toEqual({ onDisk: null, globalPause: { paused: true, by: pausedBy } });
    const failing = createLifecycleActivities(recordSteps(null).steps, {
      temporal: client,
      logger,
      recentGlobalPause: async () => {
        throw new Error('the control workflow did not answer in time');
      },
    });
    expect(await run(failing.beginDownload, input, [], controlId)).toEqual({ onDisk: null, globalPause: null });
    expect(log.entries().filter((e) => String(e.msg).startsWith('could not ask whether everything is paused'))).toHaveLength(1);
    // The mock activity environment runs its activities for workflow "test".
    expect(await registrations(controlId)).toEqual([
      { workflowId: 'test', assumed: true },
      { workflowId: 'test', assumed: false },
    ]);
  } finally {
    await client.workflow.getHandle(controlId).terminate('test over');
  }
});

test('a look that says "paused" is not believed when the registration fails: nothing would ever resume the download', async () => {
  const log = new LogCollector();
  const activities = createLifecycleActivities(recordSteps(null).steps, {
    temporal: client,
    logger: createLogger({ level: 'info', destination: log }),
    recentGlobalPause: async () => ({ paused: true, by: { id: 'test', name: 'the test' } }),
  });
  expect(await run(activities.beginDownload, input, [], 'downloads-control-not-running')).toEqual({ onDisk: null, globalPause: null });
  expect(log.entries().filter((e) => e.msg === 'could not register with the control workflow')).toHaveLength(1);
});

test('the last step records the result even when the control workflow and the playlists are gone, and logs each it could not tell', async () => {
  const { steps, recorded } = recordSteps(null);
  const log = new LogCollector();
  const activities = createLifecycleActivities(steps, { temporal: client, logger: createLogger({ level: 'info', destination: log }) });
  const outcome: DownloadOutcome = { status: 'completed', fromCache: false, ...FILE };
  await run(activities.finishDownload, input, outcome, [subscriber], {
    controlWorkflowId: 'downloads-control-gone',
    playlists: ['download-gone-playlist-1', 'download-gone-playlist-2'],
    entryStatus: { state: 'completed', fromCache: false },
  });
  expect(recorded).toEqual([{ outcome, subscribers: [subscriber] }]);
  const couldNot = log
    .entries()
    .map((e) => String(e.msg))
    .filter((m) => m.startsWith('could not'))
    .sort();
  expect(couldNot).toEqual([
    'could not tell playlist download-gone-playlist-1',
    'could not tell playlist download-gone-playlist-2',
    'could not unregister from the control workflow',
  ]);
});

test('without a Temporal client (some tests and tools) both steps only record', async () => {
  const { steps, recorded } = recordSteps(null);
  const activities = createLifecycleActivities(steps, { logger: createLogger({ level: 'silent' }) });
  expect(await run(activities.beginDownload, input, [], 'downloads-control-any')).toEqual({ onDisk: null, globalPause: null });
  await run(activities.finishDownload, input, { status: 'failed', errorKind: 'NotFound', message: 'gone' }, [], {
    controlWorkflowId: 'downloads-control-any',
    playlists: ['download-some-playlist'],
    entryStatus: { state: 'failed', message: 'gone' },
  });
  expect(recorded).toHaveLength(1);
});
