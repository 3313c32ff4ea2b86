import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { AttemptJournal } from '../../activities/attempt-journal';
import { alertChannelsOf, attemptStore, createMonitoringActivities, type AlertChannels } from '../../activities/monitoring';
import type { AttemptRecord } from '../../domain/monitoring/attempts';
import { evaluate, newAttemptId } from '../../domain/monitoring/health';
import { MONITORING_DEFAULTS, updateSettings } from '../../domain/monitoring/settings';
import { createDb, type Db } from '../../lib/db';
import { createLogger, LogCollector } from '../../lib/logger';
import { createTelegramApi } from '../../lib/telegram';
import { ensureSchedules } from '../../workers/schedules';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventuallyAsync } from '../support/eventually';
import { FakeBotApi } from '../support/fake-bot-api';
import { BOT_TOKEN } from '../support/stack';
import { startTemporal, type TestTemporal } from '../support/temporal-server';
import { startTestWorkers, type TestWorkers } from '../support/test-workers';

/**
 * Downloader health monitoring on real PostgreSQL and a real Temporal server:
 * the seed's scenarios (a temporary failure, a persistent one, two
 * downloaders, the recovery, failures that are the user's fault), alerts
 * delivered on every channel exactly once, a channel that fails being retried,
 * attempts surviving a PostgreSQL outage and a worker's death, and the
 * housekeeping schedules.
 */

const OWNER = 111;
const ADMIN = 333;
let temporal: TestTemporal;
let database: TestDatabase;
let client: Client;
let workers: TestWorkers;
let telegram: FakeBotApi;
let journal: AttemptJournal;
let receiver: AlertReceiver;
let channels: AlertChannels;
const logs = new LogCollector();
const logger = createLogger({ level: 'info', destination: logs });
const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-attempts-test-'));

/** Records webhook and Pushover posts; can fail the next few with 500. */
class AlertReceiver {
  readonly posts: { path: string; body: string }[] = [];
  failNext = 0;
  private server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (this.failNext > 0) {
        this.failNext -= 1;
        res.writeHead(500).end('down');
        return;
      }
      this.posts.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":1}');
    });
  });
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
  webhooks(downloader: string) {
    return this.posts
      .filter((p) => p.path === '/hook')
      .map((p) => JSON.parse(p.body) as { event: string; downloader: string })
      .filter((p) => p.downloader === downloader);
  }
  pushovers(downloader: string) {
    return this.posts.filter((p) => p.path === '/pushover' && new URLSearchParams(p.body).get('title')?.includes(downloader));
  }
}

beforeAll(async () => {
  [temporal, database] = await Promise.all([startTemporal(), createTestDatabase()]);
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  telegram = new FakeBotApi(BOT_TOKEN);
  await telegram.start();
  receiver = new AlertReceiver();
  const origin = await receiver.start();
  channels = alertChannelsOf(
    {
      ADMIN_IDS: [OWNER],
      MONITOR_WEBHOOK_URL: `${origin}/hook`,
      PUSHOVER_TOKEN: 'pushover-app-token-abc',
      PUSHOVER_USER: 'pushover-user-key-xyz',
      PUSHOVER_API_URL: `${origin}/pushover`,
    },
    createTelegramApi(BOT_TOKEN, telegram.apiRoot),
  );
  // Someone with the admin role is told too; an expired admin is not.
  await database.db.botUser.create({ data: { userId: BigInt(ADMIN), role: 'admin' } });
  await database.db.botUser.create({ data: { userId: 444n, role: 'admin', roleExpiresAt: new Date(Date.now() - 1000) } });
  workers = await startTestWorkers({
    address: temporal.address,
    namespace: temporal.namespace,
    light: createMonitoringActivities({ db: database.db, logger, alertChannels: channels }),
    // Nothing is downloaded here; the download queue's worker needs one activity to start.
    downloads: { async checkDiskSpace() {} },
  });
  journal = newJournal(database.db);
  await journal.start();
}, 90_000);

afterAll(async () => {
  await journal?.stop(1_000);
  await workers?.stop();
  await client?.connection.close();
  await temporal?.stop();
  await telegram?.stop();
  await receiver?.stop();
  await database?.drop();
  fs.rmSync(journalDir, { recursive: true, force: true });
});

function newJournal(db: Db, dir = journalDir): AttemptJournal {
  return new AttemptJournal({
    dir,
    logger,
    maxRetryMs: 500,
    ...attemptStore({ db, logger, temporal: client, taskQueue: workers.taskQueue, alertChannels: channels }),
  });
}

let seq = 0;
/** An attempt of `downloader` that ended `minutesAgo` minutes ago: of a download of its own unless `contentKey` says which. */
function attempt(downloader: string, result: 'ok' | string, minutesAgo = 0, contentKey?: string): AttemptRecord {
  const finished = new Date(Date.now() - minutesAgo * 60_000 + seq++);
  return {
    id: newAttemptId(),
    contentKey: contentKey ?? `${seq}`.padStart(64, 'c'),
    workflowId: `download-${downloader}`,
    attempt: 1,
    source: 'yt-dlp',
    downloader,
    platform: 'generic',
    url: `https://example.com/${downloader}/${seq}`,
    requestedBy: null,
    startedAt: new Date(finished.getTime() - 1_000).toISOString(),
    finishedAt: finished.toISOString(),
    success: result === 'ok',
    bytes: result === 'ok' ? 1000 : null,
    errorKind: result === 'ok' ? null : result,
    error: result === 'ok' ? null : `${result}: the site said no`,
  };
}

/** Records the attempts one by one (each stored and judged before the next, as they would end minutes apart). */
async function record(...attempts: AttemptRecord[]): Promise<void> {
  for (const a of attempts) {
    journal.record(a);
    await journal.flush();
  }
}

const telegramAlerts = (downloader: string) =>
  telegram.callsTo('sendMessage').filter((c) => String(c.payload.text).includes(`"${downloader}"`));

async function deliveredAlert(downloader: string, kind: 'raised' | 'recovered') {
  const incident = await database.db.monitorIncident.findFirst({ where: { downloader }, orderBy: { id: 'desc' } });
  expect(incident).not.toBeNull();
  return client.workflow.getHandle(`monitor-alert-${incident!.id}-${kind}`).result();
}

test('a temporary failure raises no alert (seed scenario 1)', async () => {
  await record(attempt('fastdl', 'Network'), attempt('fastdl', 'ok'));
  expect(await database.db.monitorIncident.count({ where: { downloader: 'fastdl' } })).toBe(0);
  expect(await database.db.downloadAttempt.count({ where: { downloader: 'fastdl' } })).toBe(2);
});

test('a persistent failure raises exactly one alert, on every channel, to every admin; only the failing downloader (scenarios 2 and 3)', async () => {
  await record(attempt('toolzu', 'RateLimited'), attempt('fastdl', 'ok'));
  expect(await database.db.monitorIncident.count()).toBe(0);
  await record(attempt('toolzu', 'RateLimited'), attempt('fastdl', 'ok'), attempt('toolzu', 'RateLimited'));
  expect(await deliveredAlert('toolzu', 'raised')).toEqual({ delivered: ['telegram', 'webhook', 'pushover'], failed: [] });
  // One more failure: still the same incident, no new alert.
  await record(attempt('toolzu', 'ServerError'));

  const incidents = await database.db.monitorIncident.findMany();
  expect(incidents).toEqual([expect.objectContaining({ downloader: 'toolzu', openFor: 'toolzu', consecutiveFailures: 2, closedAt: null })]);
  const sent = telegramAlerts('toolzu');
  expect(sent.map((c) => c.payload.chat_id).sort()).toEqual([OWNER, ADMIN]);
  expect(String(sent[0]!.payload.text)).toMatch(
    /toolzu failing[\s\S]*2 failed attempts of 2 downloads in a row within 3 h[\s\S]*Last success: never[\s\S]*Latest error: RateLimited: the site said no[\s\S]*Example link: https:\/\/example\.com\/toolzu\//,
  );
  expect(receiver.webhooks('toolzu')).toEqual([
    expect.objectContaining({ event: 'downloader.failing', downloader: 'toolzu', consecutiveFailures: 2 }),
  ]);
  expect(receiver.pushovers('toolzu')).toHaveLength(1);
  expect(new URLSearchParams(receiver.pushovers('toolzu')[0]!.body).get('priority')).toBe('1');
  expect(telegramAlerts('fastdl')).toEqual([]);
  // The attempt that raised it says so.
  expect(await database.db.downloadAttempt.count({ where: { downloader: 'toolzu', alert: 'raised' } })).toBe(1);
});

test('a success after the incident sends one recovery message, and closes it (scenario 2 continued)', async () => {
  await record(attempt('toolzu', 'ok'), attempt('toolzu', 'ok'));
  expect(await deliveredAlert('toolzu', 'recovered')).toEqual({ delivered: ['telegram', 'webhook', 'pushover'], failed: [] });
  expect(telegramAlerts('toolzu').filter((c) => /recovered/.test(String(c.payload.text)))).toHaveLength(2); // owner and admin
  expect(receiver.webhooks('toolzu').map((w) => w.event)).toEqual(['downloader.failing', 'downloader.recovered']);
  expect(await database.db.monitorIncident.findFirst({ where: { downloader: 'toolzu' } })).toMatchObject({
    openFor: null,
    closedBy: 'recovered',
  });
  // Failing again later is a new incident with a new alert.
  await record(attempt('toolzu', 'Network'), attempt('toolzu', 'Network'));
  await deliveredAlert('toolzu', 'raised');
  expect(await database.db.monitorIncident.count({ where: { downloader: 'toolzu' } })).toBe(2);
});

test("failures that are the user's fault (404, private, unsupported, too large) and stops are ignored", async () => {
  await record(
    attempt('imginn', 'NotFound'),
    attempt('imginn', 'Private'),
    attempt('imginn', 'Unsupported'),
    attempt('imginn', 'TooLarge'),
    attempt('imginn', 'Cancelled'),
  );
  expect(await database.db.monitorIncident.count({ where: { downloader: 'imginn' } })).toBe(0);
  expect(await database.db.downloadAttempt.findMany({ where: { downloader: 'imginn' }, select: { counts: true } })).toEqual(
    Array(5).fill({ counts: false }),
  );
  // Nor do they break a streak: a real failure on either side of them still adds up.
  await record(attempt('imginn', 'Network'), attempt('imginn', 'NotFound'), attempt('imginn', 'ServerError'));
  await deliveredAlert('imginn', 'raised');
});

test('failures outside the window do not count; a downloader switched off, or monitoring switched off, raises nothing', async () => {
  await record(attempt('snapchat', 'Network', 4 * 60), attempt('snapchat', 'Network'));
  expect(await database.db.monitorIncident.count({ where: { downloader: 'snapchat' } })).toBe(0);

  expect(await updateSettings(database.db, { downloaders: { tiktok: false } })).toMatchObject({ ok: true });
  await record(attempt('tiktok', 'Network'), attempt('tiktok', 'Network'), attempt('tiktok', 'Network'));
  expect(await updateSettings(database.db, { enabled: false })).toMatchObject({ ok: true });
  await record(attempt('forums', 'Network'), attempt('forums', 'Network'));
  expect(await database.db.monitorIncident.count({ where: { downloader: { in: ['tiktok', 'forums'] } } })).toBe(0);
  await updateSettings(database.db, { enabled: true, downloaders: { tiktok: true } });
});

test('one download failing again and again is one failure: a single dead link does not raise an alert', async () => {
  const dead = 'd'.repeat(64);
  await record(...[1, 2, 3, 4, 5].map(() => attempt('deadlink', 'ServerError', 0, dead)));
  expect(await database.db.monitorIncident.count({ where: { downloader: 'deadlink' } })).toBe(0);
  // A second download failing too makes it the downloader's trouble.
  await record(attempt('deadlink', 'ServerError'));
  await deliveredAlert('deadlink', 'raised');
  expect(String(telegramAlerts('deadlink')[0]!.payload.text)).toMatch(/6 failed attempts of 2 downloads in a row/);
});

test('a success closes the incident even while its alerts are off, without a message', async () => {
  await record(attempt('quiet', 'Network'), attempt('quiet', 'Network'));
  await deliveredAlert('quiet', 'raised');
  expect(await updateSettings(database.db, { downloaders: { quiet: false } })).toMatchObject({ ok: true });
  await record(attempt('quiet', 'ok'));
  expect(await database.db.monitorIncident.findFirst({ where: { downloader: 'quiet' } })).toMatchObject({
    openFor: null,
    closedBy: 'recovered',
  });
  expect(telegramAlerts('quiet').filter((c) => /recovered/.test(String(c.payload.text)))).toEqual([]);
  expect(
    await client.workflow
      .getHandle(`monitor-alert-${(await database.db.monitorIncident.findFirst({ where: { downloader: 'quiet' } }))!.id}-recovered`)
      .describe()
      .catch(() => null),
  ).toBeNull();
  await updateSettings(database.db, { downloaders: { quiet: true } });
});

test('an alert that could not be handed to Temporal is sent at the next flush (the incident row is the outbox)', async () => {
  // Decided with no way to start its delivery (as when Temporal is down when it is raised).
  await database.db.downloadAttempt.createMany({
    data: [1, 2].map(() => {
      const a = attempt('outbox', 'Network');
      return { ...a, startedAt: new Date(a.startedAt), finishedAt: new Date(a.finishedAt), counts: true, bytes: null, requestedBy: null };
    }),
  });
  expect(await evaluate(database.db, 'outbox', MONITORING_DEFAULTS)).toMatchObject({ kind: 'raised' });
  expect(await database.db.monitorIncident.findFirst({ where: { downloader: 'outbox' } })).toMatchObject({ alertQueuedAt: null });
  // Any later flush (here: another downloader's attempt) hands it over.
  await record(attempt('unrelated', 'ok'));
  expect(await deliveredAlert('outbox', 'raised')).toEqual({ delivered: ['telegram', 'webhook', 'pushover'], failed: [] });
  expect(await database.db.monitorIncident.findFirst({ where: { downloader: 'outbox' } })).toMatchObject({
    alertQueuedAt: expect.any(Date),
  });
  expect(telegramAlerts('outbox')).toHaveLength(2);
});

test('a raise and a recovery decided at the same moment by two workers leave a consistent incident', async () => {
  await record(attempt('racer', 'Network'), attempt('racer', 'Network'));
  await deliveredAlert('racer', 'raised');
  await database.db.downloadAttempt.create({
    data: (() => {
      const a = attempt('racer', 'ok');
      return { ...a, startedAt: new Date(a.startedAt), finishedAt: new Date(a.finishedAt), counts: true, bytes: 1000, requestedBy: null };
    })(),
  });
  const changes = await Promise.all([1, 2, 3].map(() => evaluate(database.db, 'racer', MONITORING_DEFAULTS)));
  expect(changes.filter((c) => c?.kind === 'recovered')).toHaveLength(1);
  expect(changes.filter((c) => c?.kind === 'raised')).toHaveLength(0);
  expect(await database.db.monitorIncident.count({ where: { downloader: 'racer', openFor: { not: null } } })).toBe(0);
});

test('two workers judging the same downloader at once open one incident', async () => {
  await database.db.downloadAttempt.createMany({
    data: [1, 2, 3].map(() => {
      const a = attempt('coppermine', 'Network');
      return { ...a, startedAt: new Date(a.startedAt), finishedAt: new Date(a.finishedAt), counts: true, bytes: null, requestedBy: null };
    }),
  });
  const changes = await Promise.all([1, 2, 3, 4].map(() => evaluate(database.db, 'coppermine', MONITORING_DEFAULTS)));
  expect(changes.filter((c) => c?.kind === 'raised')).toHaveLength(1);
});

test('a failing channel is retried and delivered once it answers; the others are not held back', async () => {
  receiver.failNext = 1;
  await record(attempt('vbulletin', 'Network'), attempt('vbulletin', 'Network'));
  expect(await deliveredAlert('vbulletin', 'raised')).toEqual({ delivered: ['telegram', 'webhook', 'pushover'], failed: [] });
  expect(receiver.webhooks('vbulletin').length + receiver.pushovers('vbulletin').length).toBe(2);
  expect(logs.entries().some((e) => e.msg === 'alert not delivered; it is retried')).toBe(true);
}, 30_000);

test('attempts wait out a PostgreSQL outage in the journal and are all stored when it is back; nothing is lost', async () => {
  const proxy = await tcpProxy(5432);
  const url = new URL(database.url);
  url.port = String(proxy.port);
  const db = createDb(url.toString());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-attempts-outage-'));
  const outage = newJournal(db, dir);
  await outage.start();
  try {
    proxy.down();
    const attempts = [attempt('outage', 'ok'), attempt('outage', 'Network'), attempt('outage', 'ok')];
    for (const a of attempts) outage.record(a);
    await outage.flush();
    expect(await outage.backlog()).toBe(3);
    expect(await database.db.downloadAttempt.count({ where: { downloader: 'outage' } })).toBe(0);
    proxy.up();
    await eventuallyAsync(async () => (await outage.backlog()) === 0, 15_000, 'the journal to drain');
    expect((await database.db.downloadAttempt.findMany({ where: { downloader: 'outage' } })).map((a) => a.id).sort()).toEqual(
      attempts.map((a) => a.id).sort(),
    );
  } finally {
    await outage.stop(500);
    await db.$disconnect();
    await proxy.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 40_000);

test('a journal left by a worker that died is taken over by the next worker on the machine and stored', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-attempts-crash-'));
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
  const lost = [attempt('crashed', 'ok'), attempt('crashed', 'Network')];
  const flushing = [attempt('crashed', 'ok'), attempt('crashed', 'ok')];
  // A PID that is not running: the worker that wrote them is gone, in the middle of a flush
  // (its journal, and the file it was storing). A line cut short by a full disk is skipped.
  fs.writeFileSync(
    path.join(dir, `attempts-${host}-999999.jsonl`),
    `${lost.map((a) => `\n${JSON.stringify(a)}\n`).join('')}\n{"id":"cut sho`,
  );
  fs.writeFileSync(
    path.join(dir, `attempts-${host}-999999.jsonl.1700000000000.flushing`),
    flushing.map((a) => `${JSON.stringify(a)}\n`).join(''),
  );
  const next = newJournal(database.db, dir);
  try {
    await next.start();
    await eventuallyAsync(
      async () => (await database.db.downloadAttempt.count({ where: { downloader: 'crashed' } })) === 4,
      10_000,
      'the orphaned attempts',
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  } finally {
    await next.stop(500);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a row the database refuses is set aside in a .rejected.jsonl file; the rest of its batch is stored', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-attempts-rejected-'));
  const journal2 = newJournal(database.db, dir);
  await journal2.start();
  try {
    const good = [attempt('picky', 'ok'), attempt('picky', 'ok')];
    // PostgreSQL text cannot hold a NUL character.
    const bad = { ...attempt('picky', 'ok'), url: 'https://example.com/\u0000' };
    for (const a of [good[0]!, bad, good[1]!]) journal2.record(a);
    await journal2.flush();
    expect((await database.db.downloadAttempt.findMany({ where: { downloader: 'picky' } })).map((a) => a.id).sort()).toEqual(
      good.map((a) => a.id).sort(),
    );
    const rejected = fs.readdirSync(dir).filter((f) => f.endsWith('.rejected.jsonl'));
    expect(rejected).toHaveLength(1);
    expect(fs.readFileSync(path.join(dir, rejected[0]!), 'utf8')).toContain(bad.id);
    expect(await journal2.backlog()).toBe(0);
  } finally {
    await journal2.stop(500);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a row that fails only on a connection that died in an outage is stored, not set aside: refused rows get a second try', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-attempts-flaky-'));
  const attempts = [attempt('flaky', 'ok'), attempt('flaky', 'ok'), attempt('flaky', 'ok')];
  const real = attemptStore({ db: database.db, logger, temporal: client, taskQueue: workers.taskQueue, alertChannels: channels });
  let calls = 0;
  const journal3 = new AttemptJournal({
    dir,
    logger,
    maxRetryMs: 500,
    ...real,
    // The batch and the first row alone fail (the pool's dead connection); every later statement works.
    store: async (batch) => {
      calls += 1;
      if (calls <= 2) throw new Error('Connection terminated unexpectedly');
      return real.store(batch);
    },
  });
  await journal3.start();
  try {
    for (const a of attempts) journal3.record(a);
    await journal3.flush();
    expect((await database.db.downloadAttempt.findMany({ where: { downloader: 'flaky' } })).map((a) => a.id).sort()).toEqual(
      attempts.map((a) => a.id).sort(),
    );
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.rejected.jsonl'))).toEqual([]);
    expect(await journal3.backlog()).toBe(0);
  } finally {
    await journal3.stop(500);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the housekeeping schedules are created once across two worker starts, and prune old attempts and close stale incidents when run', async () => {
  expect(await ensureSchedules(client, workers.taskQueue, logger)).toEqual({
    created: ['monitor-prune-attempts', 'monitor-close-stale-incidents'],
  });
  expect(await ensureSchedules(client, workers.taskQueue, logger)).toEqual({ created: [] });
  const ids: string[] = [];
  for await (const s of client.schedule.list()) ids.push(s.scheduleId);
  expect(ids.sort()).toEqual(['monitor-close-stale-incidents', 'monitor-prune-attempts']);

  // An attempt past the 30-day retention, and an incident whose downloader nobody has tried for hours.
  await record(attempt('ancient', 'ok', 31 * 24 * 60));
  await database.db.monitorIncident.create({
    data: { downloader: 'abandoned', openFor: 'abandoned', consecutiveFailures: 2, openedAt: new Date(Date.now() - 5 * 3_600_000) },
  });
  await client.schedule.getHandle('monitor-prune-attempts').trigger();
  await client.schedule.getHandle('monitor-close-stale-incidents').trigger();
  await eventuallyAsync(
    async () => (await database.db.downloadAttempt.count({ where: { downloader: 'ancient' } })) === 0,
    20_000,
    'the prune',
  );
  await eventuallyAsync(
    async () => (await database.db.monitorIncident.findFirst({ where: { downloader: 'abandoned' } }))?.closedBy === 'expired',
    20_000,
    'the stale incident to close',
  );
  // Incidents of downloaders tried recently stay open.
  expect(await database.db.monitorIncident.findFirst({ where: { downloader: 'coppermine', openFor: 'coppermine' } })).not.toBeNull();
  for (const id of ids) await client.schedule.getHandle(id).delete();
}, 60_000);

/** A TCP proxy to a local port that can drop every connection and refuse new ones, as an outage does. */
async function tcpProxy(targetPort: number) {
  let isUp = true;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    if (!isUp) return socket.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    const close = () => {
      socket.destroy();
      upstream.destroy();
    };
    socket.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    down() {
      isUp = false;
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    up() {
      isUp = true;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
