import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { createDiskActivities } from '../../activities/disk';
import type { ActivityDeps } from '../../activities';
import { DownloadsClient, downloadsSettings, type StartRequest } from '../../domain/downloads/client';
import type { Config } from '../../lib/config';
import { ERROR_KINDS } from '../../domain/downloads/errors';
import { createLogger } from '../../lib/logger';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import {
  downloadWorkflowId,
  searchAttributes,
  type DownloadedFile,
  type DownloadInput,
  type DownloadOutcome,
  type Subscriber,
} from '../../domain/downloads/definitions';
import { startTemporal, type TestTemporal } from '../support/temporal-server';
import { testSettings } from '../support/settings';
import { historyText } from '../support/history-text';
import { startTestWorkers, workflowBundle, type TestWorkers } from '../support/test-workers';

/**
 * The download workflow on a real Temporal dev server. Activities are stand-ins
 * that script each scenario (the disk check is the real one, fed fake free-space
 * readings); the retry timing, signals and history are Temporal's own.
 */

let temporal: TestTemporal;
let client: Client;
const silent = createLogger({ level: 'silent' });

beforeAll(async () => {
  await Promise.all([startTemporal().then((t) => (temporal = t)), workflowBundle()]);
  client = new Client({ connection: await Connection.connect({ address: temporal.address }), namespace: temporal.namespace });
});

afterAll(async () => {
  await client?.connection.close();
  await temporal?.stop();
});

const FILE: DownloadedFile = { title: 'Test clip', filePath: 'test-clip.mp4', sizeBytes: 1234 };

/** The downloads client for these workers' task queues, as the bot would build it from these settings. */
function clientFor(workers: TestWorkers, overrides: Partial<Config> = {}): DownloadsClient {
  const settings = testSettings({
    TASK_QUEUE: workers.taskQueue,
    DOWNLOAD_TASK_QUEUE: workers.downloadTaskQueue,
    MAX_RETRIES: 5,
    ...overrides,
  });
  return new DownloadsClient(client, downloadsSettings(settings));
}

/** Records what the light activities were asked to do. */
function lightStubs() {
  const notified: Array<{ subscriber: Subscriber; outcome: DownloadOutcome }> = [];
  const recorded: DownloadOutcome[] = [];
  const recordedSubscribers: number[] = [];
  const hooks = { beforeRecord: async (): Promise<void> => undefined };
  return {
    notified,
    recorded,
    recordedSubscribers,
    hooks,
    activities: {
      async dedup(): Promise<DownloadedFile | null> {
        return null;
      },
      async recordResult(_input: DownloadInput, outcome: DownloadOutcome, subscribers: Subscriber[]): Promise<void> {
        await hooks.beforeRecord();
        recorded.push(outcome);
        recordedSubscribers.push(...subscribers.map((s) => s.chatId));
      },
      async notify(subscriber: Subscriber, _url: string, outcome: DownloadOutcome): Promise<void> {
        notified.push({ subscriber, outcome });
      },
    },
  };
}

const passingDisk = { async checkDiskSpace(): Promise<void> {} };

let nextMessageId = 1;
function request(userId: number, url = 'https://example.com/video.mp4'): StartRequest {
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error('bad test url');
  const correlationId = `test-${userId}-${nextMessageId}`;
  return {
    contentKey: contentKeyFor(parsed.url, 'video'),
    url: parsed.url,
    mode: 'video',
    correlationId,
    subscriber: { chatId: userId, userId, messageId: nextMessageId++, correlationId },
  };
}

/**
 * Runs `body` with workers whose download queue serves `downloads` (and stub
 * light activities), stopping them afterwards whatever happens.
 */
async function withWorkers(
  downloads: object,
  body: (workers: TestWorkers, light: ReturnType<typeof lightStubs>) => Promise<void>,
  light = lightStubs(),
): Promise<ReturnType<typeof lightStubs>> {
  const workers = await startTestWorkers({ address: temporal.address, namespace: temporal.namespace, light: light.activities, downloads });
  try {
    await body(workers, light);
  } finally {
    await workers.stop();
  }
  return light;
}

/** Starts a download the way the bot does, and waits for its outcome. */
async function download(workers: TestWorkers, url: string, userId: number, overrides: Partial<Config> = {}): Promise<DownloadOutcome> {
  const started = request(userId, url);
  await clientFor(workers, overrides).startOrJoin(started);
  return result(started.contentKey);
}

function workflowIdOf(url: string): string {
  return downloadWorkflowId(request(0, url).contentKey);
}

/** Every value the workflow gave the DownloadState search attribute, in order (from its history). */
async function downloadStates(workflowId: string): Promise<string[]> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const data = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.DownloadState?.data;
    return data ? [JSON.parse(Buffer.from(data).toString('utf8')) as string] : [];
  });
}

async function result(contentKey: string): Promise<DownloadOutcome> {
  return client.workflow.getHandle(downloadWorkflowId(contentKey)).result();
}

test('a transient failure is retried with growing waits until the download succeeds', async () => {
  const attemptsAt: number[] = [];
  let outcome: DownloadOutcome | undefined;
  const light = await withWorkers(
    {
      ...passingDisk,
      async download(): Promise<DownloadedFile> {
        attemptsAt.push(Date.now());
        if (Context.current().info.attempt < 4)
          throw ApplicationFailure.retryable('the site kept answering with server errors', 'ServerError');
        return FILE;
      },
    },
    async (workers) => {
      outcome = await download(workers, 'https://example.com/retry.mp4', 101);
    },
  );

  expect(outcome).toMatchObject({ status: 'completed', filePath: FILE.filePath });
  expect(attemptsAt).toHaveLength(4);
  const waits = attemptsAt.slice(1).map((t, i) => t - attemptsAt[i]!);
  // Base 0.5 s doubling: at least 0.5, 1 and 2 seconds between attempts. Only lower bounds:
  // Temporal never retries early, but a busy machine can dispatch a retry late.
  expect(waits[0]).toBeGreaterThanOrEqual(450);
  expect(waits[1]).toBeGreaterThanOrEqual(950);
  expect(waits[2]).toBeGreaterThanOrEqual(1_950);
  expect(light.notified.map((n) => n.outcome.status)).toEqual(['completed']);
});

test.each([
  {
    name: 'a download that keeps failing transiently stops after MAX_RETRIES retries',
    fail: () => ApplicationFailure.retryable('the site could not be reached', 'Network'),
    settings: { MAX_RETRIES: 2, RETRY_BASE_SECONDS: 0.2 },
    attempts: 3,
    kind: 'Network' as const,
  },
  {
    name: 'a permanent failure fails after one attempt',
    fail: () => ApplicationFailure.nonRetryable('the page or file does not exist (HTTP 404/410)', 'NotFound'),
    settings: {},
    attempts: 1,
    kind: 'NotFound' as const,
  },
  {
    name: "a refused destination fails after one attempt with the activity's own words (naming the address)",
    fail: () =>
      ApplicationFailure.nonRetryable(
        'the link leads to a private network address (10.0.0.5), which this server does not fetch',
        'PrivateAddress',
      ),
    settings: {},
    attempts: 1,
    kind: 'PrivateAddress' as const,
  },
  {
    name: "a failure without a message is told in the kind's own sentence",
    fail: () => ApplicationFailure.nonRetryable('', 'Unsupported'),
    settings: {},
    attempts: 1,
    kind: 'Unsupported' as const,
  },
])('$name, and everyone is told why', async ({ fail, settings, attempts: expectedAttempts, kind }) => {
  let attempts = 0;
  let outcome: DownloadOutcome | undefined;
  const light = await withWorkers(
    {
      ...passingDisk,
      async download(): Promise<DownloadedFile> {
        attempts += 1;
        throw fail();
      },
    },
    async (workers) => {
      outcome = await download(workers, `https://example.com/fails-${kind}.mp4`, 102, settings);
    },
  );

  expect(attempts).toBe(expectedAttempts);
  // The activity words the message for users; the kind's sentence stands in when it gave none.
  expect(outcome).toEqual({ status: 'failed', errorKind: kind, message: fail().message || ERROR_KINDS[kind].message });
  expect(light.recorded).toEqual([outcome]);
  expect(light.notified.map((n) => n.outcome)).toEqual([outcome]);
});

test('no secret in an activity failure reaches the history (which the Web UI shows): the worker redacts every failure', async () => {
  const token = '123456789:HISTORY-canary-token-abcdefghijklmn';
  const password = 'history-canary-password';
  const light = lightStubs();
  const workers = await startTestWorkers({
    address: temporal.address,
    namespace: temporal.namespace,
    light: light.activities,
    secrets: [token, password],
    downloads: {
      ...passingDisk,
      async download(): Promise<DownloadedFile> {
        if (Context.current().info.attempt === 1) throw new Error(`request to http://api.example/bot${token}/sendMessage failed`);
        throw ApplicationFailure.nonRetryable(`could not log in with ${password}`, 'Unknown', {
          detail: `postgresql://app:${password}@db/x and ${token}`,
        });
      },
    },
  });
  const url = 'https://example.com/redacted-failures.mp4';
  try {
    const outcome = await download(workers, url, 103, { MAX_RETRIES: 1, RETRY_BASE_SECONDS: 0.1 });
    expect(outcome).toMatchObject({ status: 'failed', errorKind: 'Unknown', message: 'could not log in with [REDACTED]' });
  } finally {
    await workers.stop();
  }
  const text = await historyText(client, workflowIdOf(url));
  expect(text).toContain('[REDACTED]');
  expect(text).not.toContain(token);
  expect(text).not.toContain(password);
  expect(text).not.toContain(token.split(':')[1]!);
});

test('a second request for the same content joins the running download: one download, two notifications', async () => {
  let downloads = 0;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const first = request(201, 'https://youtu.be/dQw4w9WgXcQ?si=abc');
  const second = request(202, 'https://www.youtube.com/watch?v=dQw4w9WgXcQ&feature=share');
  expect(second.contentKey).toBe(first.contentKey);
  const handle = client.workflow.getHandle(downloadWorkflowId(first.contentKey));
  let outcome: DownloadOutcome | undefined;
  let subscribersWhileRunning = 0;

  const light = await withWorkers(
    {
      ...passingDisk,
      async download(): Promise<DownloadedFile> {
        downloads += 1;
        started();
        await released;
        return FILE;
      },
    },
    async (workers) => {
      const downloads = clientFor(workers);
      try {
        await downloads.startOrJoin(first);
        await running;
        await downloads.startOrJoin(second);
        // The running workflow counts both subscribers (the query sees the signal once it is handled).
        for (let i = 0; i < 100 && subscribersWhileRunning < 2; i++) {
          subscribersWhileRunning = (await handle.query<{ subscribers: number }>('progress')).subscribers;
          if (subscribersWhileRunning < 2) await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        release();
      }
      outcome = await result(first.contentKey);
    },
  );

  expect(subscribersWhileRunning).toBe(2);
  expect(outcome?.status).toBe('completed');
  expect(downloads).toBe(1);
  expect(light.notified.map((n) => n.subscriber.chatId).sort()).toEqual([201, 202]);
  const description = await handle.describe();
  expect(description.typedSearchAttributes.get(searchAttributes.RequestedBy)).toEqual(['201', '202']);
});

test('with the disk low the download waits, then proceeds once space frees up', async () => {
  const readings = [0, 0, 5 * 1024 ** 3];
  const diskChecks: number[] = [];
  const stateWrites: string[] = [];
  const downloadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-disk-'));
  const deps = {
    logger: silent,
    downloadDir,
    minDiskSpaceGb: 1,
    freeBytes: async () => {
      diskChecks.push(Date.now());
      return readings.shift() ?? 5 * 1024 ** 3;
    },
    db: {
      download: {
        updateMany: async (args: { data: { state: string } }) => {
          stateWrites.push(args.data.state);
          return { count: 1 };
        },
      },
    },
  } as unknown as ActivityDeps;
  let downloadedAfterChecks = -1;
  let outcome: DownloadOutcome | undefined;
  try {
    await withWorkers(
      {
        ...createDiskActivities(deps),
        async download(): Promise<DownloadedFile> {
          downloadedAfterChecks = diskChecks.length;
          return FILE;
        },
      },
      async (workers) => {
        outcome = await download(workers, 'https://example.com/big.mp4', 104);
      },
    );
  } finally {
    fs.rmSync(downloadDir, { recursive: true, force: true });
  }

  expect(outcome?.status).toBe('completed');
  // The download step's own check (low), the wait's two, then the step's again (room).
  expect(diskChecks).toHaveLength(4);
  expect(downloadedAfterChecks).toBe(4);
  expect(stateWrites).toEqual(['waiting_for_disk', 'waiting_for_disk']);
  // Operators filtering on DownloadState saw the wait. A download is queued until its step has
  // a slot and room on disk (downloads-lean-v2: the step checks, then signals that it begins).
  expect(await downloadStates(workflowIdOf('https://example.com/big.mp4'))).toEqual([
    'waiting_for_disk',
    'queued',
    'downloading',
    'completed',
  ]);
});

test('a disk that fills up during a download sends it back to wait for space, then it resumes', async () => {
  let diskChecks = 0;
  let attempts = 0;
  let outcome: DownloadOutcome | undefined;
  await withWorkers(
    {
      async checkDiskSpace(): Promise<void> {
        diskChecks += 1;
      },
      async download(): Promise<DownloadedFile> {
        attempts += 1;
        if (attempts === 1) throw ApplicationFailure.retryable('the download disk is full', 'DiskFull');
        return FILE;
      },
    },
    async (workers) => {
      outcome = await download(workers, 'https://example.com/fills-disk.mp4', 105);
    },
  );

  expect(outcome?.status).toBe('completed');
  expect(attempts).toBe(2);
  expect(diskChecks).toBe(2);
});

test('when the disk stays full past DISK_WAIT_HOURS the download fails saying so', async () => {
  const downloadDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-full-'));
  const deps = {
    logger: silent,
    downloadDir,
    minDiskSpaceGb: 1,
    freeBytes: async () => 0,
    db: { download: { updateMany: async () => ({ count: 1 }) } },
  } as unknown as ActivityDeps;
  let downloads = 0;
  let outcome: DownloadOutcome | undefined;
  try {
    await withWorkers(
      {
        ...createDiskActivities(deps),
        async download(): Promise<DownloadedFile> {
          downloads += 1;
          return FILE;
        },
      },
      async (workers) => {
        outcome = await download(workers, 'https://example.com/never-fits.mp4', 106, { DISK_WAIT_HOURS: 0.001 });
      },
    );
  } finally {
    fs.rmSync(downloadDir, { recursive: true, force: true });
  }

  expect(downloads).toBe(0);
  expect(outcome).toMatchObject({ status: 'failed', errorKind: 'DiskFull' });
  expect(outcome?.status === 'failed' && outcome.message).toMatch(/stayed full/);
});

test('a download directory that cannot be created fails at once instead of waiting for space', async () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-bad-'));
  const notADir = path.join(parent, 'file');
  fs.writeFileSync(notADir, 'x');
  let checks = 0;
  const deps = {
    logger: silent,
    downloadDir: path.join(notADir, 'downloads'),
    minDiskSpaceGb: 0,
    freeBytes: async () => Number.MAX_SAFE_INTEGER,
    db: { download: { updateMany: async () => ({ count: 1 }) } },
  } as unknown as ActivityDeps;
  const disk = createDiskActivities(deps);
  let outcome: DownloadOutcome | undefined;
  try {
    await withWorkers(
      {
        async checkDiskSpace(input: DownloadInput): Promise<void> {
          checks += 1;
          return disk.checkDiskSpace(input);
        },
        async download(): Promise<DownloadedFile> {
          return FILE;
        },
      },
      async (workers) => {
        outcome = await download(workers, 'https://example.com/nowhere.mp4', 107);
      },
    );
  } finally {
    fs.rmSync(parent, { recursive: true, force: true });
  }

  expect(checks).toBe(1);
  expect(outcome).toMatchObject({ status: 'failed', errorKind: 'StorageUnusable' });
});

test('someone who joins while the result is being recorded is notified and recorded too', async () => {
  const light = lightStubs();
  const first = request(301, 'https://example.com/late-joiner.mp4');
  const late = request(302, 'https://example.com/late-joiner.mp4');
  let joined = false;
  let outcome: DownloadOutcome | undefined;
  await withWorkers(
    { ...passingDisk, download: async (): Promise<DownloadedFile> => FILE },
    async (workers) => {
      const downloads = clientFor(workers);
      // The first write of the result waits until the late subscriber's signal is in.
      light.hooks.beforeRecord = async () => {
        if (joined) return;
        joined = true;
        await downloads.startOrJoin(late);
      };
      await downloads.startOrJoin(first);
      outcome = await result(first.contentKey);
    },
    light,
  );

  expect(outcome?.status).toBe('completed');
  expect(light.notified.map((n) => n.subscriber.chatId).sort()).toEqual([301, 302]);
  expect(light.recordedSubscribers.sort()).toEqual([301, 302]);
});
