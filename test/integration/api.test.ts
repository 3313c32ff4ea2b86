import { randomBytes, randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import Redis from 'ioredis';
import { buildApiServer, type ApiDeps } from '../../api/server';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import { downloadWorkflowId, type DownloadedFile } from '../../domain/downloads/definitions';
import { parseMediaUrl } from '../../domain/downloads/links';
import { MONITORING_DEFAULTS, SETTINGS_KEY } from '../../domain/monitoring/settings';
import { createDb } from '../../lib/db';
import { createLogger, LogCollector } from '../../lib/logger';
import { createRedis, redisReady } from '../../lib/redis';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { eventuallyAsync } from '../support/eventually';
import { testSettings } from '../support/settings';
import { startTemporal, type TestTemporal } from '../support/temporal-server';
import { startTestWorkers, type TestWorkers } from '../support/test-workers';

/**
 * The HTTP API (api/server.ts) over a real socket, on real PostgreSQL, Redis
 * and a Temporal dev server with stand-in download activities: the bearer
 * token on every /api/* route, 400s that name the parameter, the monitoring
 * figures, history pages, clean-up counts and settings, the downloads list and
 * detail, readiness naming what is down, the metrics and the OpenAPI document.
 */

const TOKEN = `api-test-${randomBytes(16).toString('hex')}`;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let temporal: TestTemporal;
let database: TestDatabase;
let client: Client;
let workers: TestWorkers;
let downloads: DownloadsClient;
let redis: Redis;
let app: FastifyInstance;
let base: string;
const logs = new LogCollector();
const logger = createLogger({ level: 'info', secrets: [TOKEN], destination: logs });

/** Downloads wait in their stand-in activity until the test releases them (by content key). */
const gates = new Map<string, () => void>();
const released = new Set<string>();
function release(contentKey: string): void {
  released.add(contentKey);
  gates.get(contentKey)?.();
}
const FILE: DownloadedFile = { title: 'Clip', filePath: 'clip.mp4', sizeBytes: 1234 };

beforeAll(async () => {
  [temporal, database] = await Promise.all([startTemporal(), createTestDatabase()]);
  redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', `test:api:${randomBytes(4).toString('hex')}:`);
  redis.on('error', () => undefined);
  expect(await redisReady(redis)).toBe(true);
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  workers = await startTestWorkers({
    address: temporal.address,
    namespace: temporal.namespace,
    light: {
      async dedup() {
        return null;
      },
      async recordResult() {},
      async notify() {},
    },
    downloads: {
      async checkDiskSpace() {},
      async discardDownload() {
        return [];
      },
      async download(input: { contentKey: string }): Promise<DownloadedFile> {
        const ctx = Context.current();
        const progress = { status: 'downloading', percent: 42, downloadedBytes: 420, totalBytes: 1000, speed: 100, etaSeconds: 6 };
        ctx.heartbeat(progress);
        const gate = released.has(input.contentKey)
          ? Promise.resolve()
          : new Promise<void>((resolve) => gates.set(input.contentKey, resolve));
        const beat = setInterval(() => ctx.heartbeat(progress), 200);
        try {
          await Promise.race([gate, ctx.cancelled]);
        } finally {
          clearInterval(beat);
        }
        return FILE;
      },
    },
  });
  downloads = new DownloadsClient(
    client,
    downloadsSettings(testSettings({ TASK_QUEUE: workers.taskQueue, DOWNLOAD_TASK_QUEUE: workers.downloadTaskQueue })),
  );
  app = await buildApiServer(deps());
  base = await app.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  for (const contentKey of gates.keys()) release(contentKey);
  // Each step runs even when an earlier one fails; the first failure is reported.
  const steps = [
    () => app?.close(),
    () => downloads?.settle(),
    () => workers?.stop(),
    () => client?.connection.close(),
    () => temporal?.stop(),
    () => redis?.disconnect(),
    () => database?.drop(),
  ];
  const errors: unknown[] = [];
  for (const step of steps)
    await Promise.resolve()
      .then(step)
      .catch((err: unknown) => errors.push(err));
  if (errors.length) throw errors[0];
});

/** The API's dependencies, all real; `overrides` swap one for a broken one. */
function deps(overrides: Partial<ApiDeps> = {}): ApiDeps {
  return { db: database.db, redis, downloads, temporal: client, token: TOKEN, logger, ...overrides };
}

/**
 * Runs `work` against a second server of its own, built with `overrides`, and
 * closes it. (Over a real socket: Fastify's inject does not load under Jest.)
 */
async function withServer(overrides: Partial<ApiDeps>, work: (call: Caller) => Promise<void>): Promise<void> {
  const other = await buildApiServer(deps(overrides));
  try {
    const url = await other.listen({ host: '127.0.0.1', port: 0 });
    await work((path, o) => callAt(url, path, o));
  } finally {
    await other.close();
  }
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

interface CallOptions {
  method?: string;
  body?: unknown;
  /** Sent as the Authorization header; the right bearer token unless given, none when null. */
  authorization?: string | null;
}
type Caller = (path: string, o?: CallOptions) => Promise<Answer>;

/** A request to the server at `server`. */
async function callAt(server: string, path: string, o: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  const authorization = o.authorization === undefined ? `Bearer ${TOKEN}` : o.authorization;
  if (authorization !== null) headers.authorization = authorization;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server}${path}`, {
    method: o.method ?? 'GET',
    headers,
    body: o.body === undefined ? undefined : JSON.stringify(o.body),
  });
  const text = await response.text();
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (metrics, the dashboard): the text is what is checked.
  }
  return { status: response.status, headers: response.headers, text, body };
}

/** A request to the test's server. */
const call: Caller = (path, o) => callAt(base, path, o);

/** A stored attempt of `downloader` that ended at `finishedAt`: a success of `bytes`, or a failure of that error kind. */
function attemptRow(downloader: string, finishedAt: Date, result: { bytes: number } | { errorKind: string; counts: boolean }) {
  const success = 'bytes' in result;
  return {
    id: randomUUID(),
    contentKey: randomBytes(32).toString('hex'),
    workflowId: `download-${downloader}`,
    attempt: 1,
    source: 'yt-dlp',
    downloader,
    platform: 'generic',
    url: `https://example.com/${downloader}/${randomUUID()}`,
    requestedBy: 7n,
    startedAt: new Date(finishedAt.getTime() - 5_000),
    finishedAt,
    success,
    bytes: success ? BigInt(result.bytes) : null,
    errorKind: success ? null : result.errorKind,
    error: success ? null : `${result.errorKind}: the site said no`,
    // Successes always count; failures the downloader is to blame for (Network) count, the user's (NotFound) do not.
    counts: success || result.counts,
  };
}
const ok = (bytes: number) => ({ bytes });
const network = { errorKind: 'Network', counts: true };
const notFound = { errorKind: 'NotFound', counts: false };
const ago = (ms: number) => new Date(Date.now() - ms);

/** Every /api route, with a request that would succeed (or at least be answered) with the right token. */
const API_ROUTES: Array<{ method: string; path: string; body?: unknown }> = [
  { method: 'GET', path: '/api/monitoring/status' },
  { method: 'GET', path: '/api/monitoring/series' },
  { method: 'GET', path: '/api/monitoring/history' },
  { method: 'DELETE', path: '/api/monitoring/history?days=1' },
  { method: 'GET', path: '/api/monitoring/settings' },
  { method: 'PUT', path: '/api/monitoring/settings', body: { failureWindowHours: 12 } },
  { method: 'GET', path: '/api/downloads' },
  { method: 'GET', path: '/api/downloads/abcdef01' },
];

describe('the bearer token', () => {
  // The right token with its last character changed.
  const sameLength = `${TOKEN.slice(0, -1)}${TOKEN.endsWith('x') ? 'y' : 'x'}`;
  const REFUSED: Array<[string, string | null]> = [
    ['no Authorization header', null],
    ['a wrong token of the same length', `Bearer ${sameLength}`],
    ['a shorter token (a prefix of the right one)', `Bearer ${TOKEN.slice(0, 8)}`],
    ['a longer token (the right one and more)', `Bearer ${TOKEN}0`],
    ['an empty token', 'Bearer '],
    ['the right token as Basic credentials', `Basic ${Buffer.from(`api:${TOKEN}`).toString('base64')}`],
    ['the right token without its scheme', TOKEN],
  ];

  test.each(REFUSED)(
    '%s: every /api route answers 401 {"error":"unauthorized"} with www-authenticate: Bearer',
    async (_what, authorization) => {
      for (const route of [...API_ROUTES, { method: 'GET', path: '/api/no-such-route' }]) {
        const answer = await call(route.path, { method: route.method, body: route.body, authorization });
        expect({ route: `${route.method} ${route.path}`, status: answer.status, text: answer.text }).toEqual({
          route: `${route.method} ${route.path}`,
          status: 401,
          text: '{"error":"unauthorized"}',
        });
        expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      }
    },
  );

  test('a refused request changes nothing: no attempt is deleted, no setting changed', async () => {
    // Two days old: DELETE ?days=1 would delete it if it ran.
    await database.db.downloadAttempt.createMany({ data: [attemptRow('authcheck', ago(2 * DAY), ok(1))] });
    const before = await database.db.downloadAttempt.count();
    expect(before).toBeGreaterThan(0);

    expect((await call('/api/monitoring/history?days=1', { method: 'DELETE', authorization: `Bearer ${sameLength}` })).status).toBe(401);
    expect((await call('/api/monitoring/settings', { method: 'PUT', body: { enabled: false }, authorization: null })).status).toBe(401);

    expect(await database.db.downloadAttempt.count()).toBe(before);
    expect(await database.db.setting.findUnique({ where: { key: SETTINGS_KEY } })).toBeNull();
    expect(logs.entries().some((e) => /through the API/.test(String(e.msg)))).toBe(false);
  });

  test("the scheme's name is case-insensitive; the token is not", async () => {
    expect((await call('/api/monitoring/settings', { authorization: `bearer ${TOKEN}` })).status).toBe(200);
    expect((await call('/api/monitoring/settings', { authorization: `BEARER ${TOKEN}` })).status).toBe(200);
    expect((await call('/api/monitoring/settings', { authorization: `Bearer ${TOKEN.toUpperCase()}` })).status).toBe(401);
  });

  test('a percent-encoded path that routes to an /api route needs the token too', async () => {
    // The router decodes %61 to "a": /%61pi/... is served by the /api/... route.
    const answer = await call('/%61pi/monitoring/settings', { authorization: null });
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({ error: 'unauthorized' });
    const deleteAll = await call('/%61pi/monitoring/history?days=1', { method: 'DELETE', authorization: null });
    expect(deleteAll.status).toBe(401);
    expect(await database.db.downloadAttempt.count({ where: { downloader: 'authcheck' } })).toBe(1);
  });

  test('a server without API_TOKEN refuses every /api request, whatever is sent', async () => {
    await withServer({ token: undefined }, async (callOpen) => {
      for (const authorization of [null, 'Bearer ', 'Bearer undefined', `Bearer ${TOKEN}`]) {
        for (const route of API_ROUTES) {
          const answer = await callOpen(route.path, { method: route.method, body: route.body, authorization });
          expect([route.path, authorization, answer.status, answer.text]).toEqual([
            route.path,
            authorization,
            401,
            '{"error":"unauthorized"}',
          ]);
          expect(answer.headers.get('www-authenticate')).toBe('Bearer');
        }
      }
    });
  });

  test('the right token is let through on every /api route', async () => {
    for (const route of API_ROUTES.filter((r) => r.method === 'GET')) {
      const answer = await call(route.path);
      // The made-up download ID is not found: answered, not refused.
      expect([route.path, answer.status]).toEqual([route.path, route.path.startsWith('/api/downloads/') ? 404 : 200]);
    }
  });

  test('/healthz, /readyz, /metrics, /openapi.json and the dashboard need no token', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/']) {
      const answer = await call(path, { authorization: null });
      expect([path, answer.status]).toEqual([path, 200]);
    }
    expect((await call('/healthz', { authorization: null })).body).toEqual({ status: 'ok' });
    const page = await call('/', { authorization: null });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  });
});

describe('bad parameters get 400 with a reason that names the parameter', () => {
  const CASES: Array<[string, string, RegExp]> = [
    ['hours=0', 'GET /api/monitoring/status?hours=0', /^querystring\.hours must be >= 1$/],
    ['hours=abc', 'GET /api/monitoring/status?hours=abc', /^querystring\.hours must be integer$/],
    ['hours over 90 days', 'GET /api/monitoring/status?hours=2161', /^querystring\.hours must be <= 2160$/],
    ['an unknown query parameter', 'GET /api/monitoring/status?hour=5', /^querystring\.hour is not a known parameter$/],
    ['an unknown bucket', 'GET /api/monitoring/series?bucket=week', /^querystring\.bucket must be equal to one of the allowed values$/],
    ['limit=0', 'GET /api/monitoring/history?limit=0', /^querystring\.limit must be >= 1$/],
    ['limit=501', 'GET /api/monitoring/history?limit=501', /^querystring\.limit must be <= 500$/],
    ['a before that is neither a next nor a time', 'GET /api/monitoring/history?before=yesterday', /^querystring\.before must be/],
    ['a before with a bad ID', 'GET /api/monitoring/history?before=2024-01-01T00:00:00.000Z_nope', /^querystring\.before must be/],
    [
      'a downloader name that is not one',
      'GET /api/monitoring/history?downloader=Bad%20Name',
      /^querystring\.downloader must match pattern/,
    ],
    ['failures=maybe', 'GET /api/monitoring/history?failures=maybe', /^querystring\.failures must be boolean$/],
    ['DELETE without days', 'DELETE /api/monitoring/history', /^querystring\.days must have required property 'days'$/],
    ['DELETE with days=0', 'DELETE /api/monitoring/history?days=0', /^querystring\.days must be >= 1$/],
    ['an unknown download state', 'GET /api/downloads?state=lost', /^querystring\.state must be equal to one of the allowed values$/],
    ['a downloads limit over 200', 'GET /api/downloads?limit=201', /^querystring\.limit must be <= 200$/],
    ['a cursor with characters no cursor has', 'GET /api/downloads?cursor=a%2Bb', /^querystring\.cursor must match pattern/],
    ['a download ID that is not hex', 'GET /api/downloads/xyz123', /^params\.id must match pattern/],
  ];

  test.each(CASES)('%s', async (_what, request, reason) => {
    const [method, path] = request.split(' ') as [string, string];
    const answer = await call(path, { method });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'bad_request', message: expect.stringMatching(reason) });
  });

  test('a refused PUT of the settings names what is wrong and changes nothing', async () => {
    const before = await call('/api/monitoring/settings');
    const BAD: Array<[unknown, RegExp]> = [
      [{ failureWindowHours: 0 }, /^body\.failureWindowHours must be >= 1$/],
      [{ minConsecutiveFailures: 1001 }, /^body\.minConsecutiveFailures must be <= 1000$/],
      [{ pushoverPriority: 2 }, /^body\.pushoverPriority must be <= 1$/],
      [{ retentionDays: 2.5 }, /^body\.retentionDays must be integer$/],
      [{ retentionDays: 7, colour: 'red' }, /^body\.colour is not a known parameter$/],
      [{ enabled: 'yes' }, /^body\.enabled must be boolean$/],
      // A JSON body carries its own types: nothing is converted.
      [{ enabled: 'false' }, /^body\.enabled must be boolean$/],
      [{ enabled: 0 }, /^body\.enabled must be boolean$/],
      [{ retentionDays: '7' }, /^body\.retentionDays must be integer$/],
      [{ pushoverPriority: null }, /^body\.pushoverPriority must be integer$/],
      [{ downloaders: { youtube: 'off' } }, /^body\.downloaders\.youtube must be boolean$/],
      [{ downloaders: { 'Not A Name': false } }, /^body\.downloaders must match pattern/],
      [{ channels: { sms: true } }, /^body\.channels\.sms is not a known parameter$/],
      [{ channels: { telegram: 'maybe' } }, /^body\.channels\.telegram must be boolean$/],
      [[{ enabled: false }], /^body must be object$/],
    ];
    for (const [body, reason] of BAD) {
      const answer = await call('/api/monitoring/settings', { method: 'PUT', body });
      expect([body, answer.status, answer.body]).toEqual([body, 400, { error: 'bad_request', message: expect.stringMatching(reason) }]);
    }
    expect((await call('/api/monitoring/settings')).body).toEqual(before.body);
    expect(await database.db.setting.findUnique({ where: { key: SETTINGS_KEY } })).toBeNull();
  });
});

describe('monitoring', () => {
  // alphatube: mixed results, two of them before the last 24 hours.
  const alpha = {
    okRecent: attemptRow('alphatube', ago(2 * HOUR), ok(1000)),
    okEarlier: attemptRow('alphatube', ago(5 * HOUR), ok(500)),
    network: attemptRow('alphatube', ago(1 * HOUR + 5 * 60_000), network),
    notFound: attemptRow('alphatube', ago(30 * 60_000), notFound),
    okOld: attemptRow('alphatube', ago(30 * HOUR), ok(7000)),
    networkOld: attemptRow('alphatube', ago(40 * HOUR), network),
  };
  // betaclips: failing for three hours, with an open incident; its last success was yesterday.
  const beta = {
    okOld: attemptRow('betaclips', ago(26 * HOUR), ok(200)),
    failures: [3 * HOUR, 2 * HOUR, 50 * 60_000].map((ms) => attemptRow('betaclips', ago(ms), network)),
  };
  // gammaold: tried only a day and a half ago.
  const gamma = attemptRow('gammaold', ago(36 * HOUR), ok(10));
  let incidentId: number;

  beforeAll(async () => {
    await database.db.downloadAttempt.createMany({ data: [...Object.values(alpha), beta.okOld, ...beta.failures, gamma] });
    const incident = await database.db.monitorIncident.create({
      data: {
        downloader: 'betaclips',
        openFor: 'betaclips',
        openedAt: ago(2 * HOUR),
        consecutiveFailures: 2,
        lastError: 'Network: the site said no',
        exampleUrl: beta.failures[1]!.url,
      },
    });
    incidentId = incident.id;
  });

  const statusOf = async (query: string) => {
    const answer = await call(`/api/monitoring/status${query}`);
    expect(answer.status).toBe(200);
    return answer.body as { hours: number; downloaders: Array<{ downloader: string }> };
  };
  const iso = (d: Date) => d.toISOString();

  test('status: per downloader attempts, successes, failures, bytes, success rate, last success and attempt, failure streak, open incident (24 h by default)', async () => {
    const status = await statusOf('');
    expect(status.hours).toBe(24);
    const byName = Object.fromEntries(status.downloaders.map((d) => [d.downloader, d]));
    expect(byName.alphatube).toEqual({
      downloader: 'alphatube',
      attempts: 4,
      successes: 2,
      failures: 2,
      bytes: 1500,
      successRate: 50,
      lastSuccess: iso(alpha.okRecent.finishedAt),
      lastAttempt: iso(alpha.notFound.finishedAt),
      // The Network failure after the last success counts; the NotFound (the user's fault) does not.
      failureStreak: 1,
      openIncident: null,
    });
    expect(byName.betaclips).toEqual({
      downloader: 'betaclips',
      attempts: 3,
      successes: 0,
      failures: 3,
      bytes: 0,
      successRate: 0,
      // Its last success ever, though it is older than the period.
      lastSuccess: iso(beta.okOld.finishedAt),
      lastAttempt: iso(beta.failures[2]!.finishedAt),
      failureStreak: 3,
      openIncident: {
        id: incidentId,
        openedAt: expect.any(String),
        consecutiveFailures: 2,
        lastError: 'Network: the site said no',
        exampleUrl: beta.failures[1]!.url,
      },
    });
    // Not tried in the period and no incident: not listed.
    expect(byName.gammaold).toBeUndefined();
  });

  test('status: hours widens or narrows the period', async () => {
    const wide = Object.fromEntries((await statusOf('?hours=48')).downloaders.map((d) => [d.downloader, d]));
    expect(wide.alphatube).toMatchObject({ attempts: 6, successes: 3, failures: 3, bytes: 8500, successRate: 50 });
    expect(wide.gammaold).toMatchObject({ attempts: 1, successes: 1, bytes: 10, successRate: 100, failureStreak: 0 });

    const narrow = await statusOf('?hours=1');
    expect(narrow.hours).toBe(1);
    const byName = Object.fromEntries(narrow.downloaders.map((d) => [d.downloader, d]));
    expect(byName.alphatube).toMatchObject({ attempts: 1, successes: 0, failures: 1, bytes: 0, successRate: 0, failureStreak: 1 });
    expect(byName.alphatube).toMatchObject({ lastSuccess: iso(alpha.okRecent.finishedAt) });
    expect(byName.betaclips).toMatchObject({ attempts: 1, failures: 1, failureStreak: 3, openIncident: { id: incidentId } });

    const threeHours = Object.fromEntries((await statusOf('?hours=3')).downloaders.map((d) => [d.downloader, d]));
    expect(threeHours.alphatube).toMatchObject({ attempts: 3, successes: 1, failures: 2, bytes: 1000, successRate: 33.3 });
  });

  test('series: attempts and successes per downloader, in hourly and in daily buckets', async () => {
    const alphaRows = Object.values(alpha);
    /** What the buckets must hold: alphatube's attempts grouped by the start of their hour or day (UTC). */
    const expected = (bucket: 'hour' | 'day') => {
      const points = new Map<string, { at: string; attempts: number; successes: number }>();
      for (const row of alphaRows) {
        const at = new Date(row.finishedAt);
        if (bucket === 'day') at.setUTCHours(0, 0, 0, 0);
        else at.setUTCMinutes(0, 0, 0);
        const point = points.get(at.toISOString()) ?? { at: at.toISOString(), attempts: 0, successes: 0 };
        point.attempts += 1;
        point.successes += row.success ? 1 : 0;
        points.set(point.at, point);
      }
      return [...points.values()].sort((a, b) => a.at.localeCompare(b.at));
    };
    const hourly = await call('/api/monitoring/series?hours=48');
    expect(hourly.status).toBe(200);
    expect(hourly.body).toMatchObject({ hours: 48, bucket: 'hour' });
    expect(hourly.body.series.alphatube).toEqual(expected('hour'));
    expect(hourly.body.series.gammaold).toEqual([{ at: expect.stringMatching(/:00:00\.000Z$/), attempts: 1, successes: 1 }]);

    const daily = await call('/api/monitoring/series?hours=48&bucket=day');
    expect(daily.body).toMatchObject({ hours: 48, bucket: 'day' });
    expect(daily.body.series.alphatube).toEqual(expected('day'));
    // The default period, 24 hours, leaves out what is older.
    const recent = await call('/api/monitoring/series?bucket=day');
    expect(recent.body.series.gammaold).toBeUndefined();
    expect(recent.body.series.alphatube.reduce((n: number, p: { attempts: number }) => n + p.attempts, 0)).toBe(4);
  });

  describe('history', () => {
    // Seven attempts of histpage; four end at the same moment and three at another, so pages of three split both.
    const t0 = ago(10 * 60_000);
    const t1 = new Date(t0.getTime() - 60_000);
    const rows = [t0, t0, t0, t0, t1, t1, t1].map((at, i) => attemptRow('histpage', at, i % 2 ? network : ok(100 + i)));
    // What every page must add up to: newest first, and at the same moment, by ID (descending), as the API orders them.
    const newestFirst = [...rows].sort((a, b) => b.finishedAt.getTime() - a.finishedAt.getTime() || b.id.localeCompare(a.id));
    // Newer than all of histpage's: shows up first when no downloader is asked for.
    const other = attemptRow('histother', ago(60_000), ok(1));

    beforeAll(async () => {
      await database.db.downloadAttempt.createMany({ data: [...rows, other] });
    });

    type Page = { attempts: Array<{ id: string; downloader: string; success: boolean; finishedAt: string }>; next: string | null };
    const page = async (query: string): Promise<Page> => {
      const answer = await call(`/api/monitoring/history?${query}`);
      expect(answer.status).toBe(200);
      return answer.body as Page;
    };

    test('limit=3 pages through all seven, newest first, with no duplicate and no gap where several ended at the same moment', async () => {
      const seen: string[] = [];
      const sizes: number[] = [];
      let next: string | null = null;
      do {
        const current: Page = await page(`downloader=histpage&limit=3${next ? `&before=${encodeURIComponent(next)}` : ''}`);
        seen.push(...current.attempts.map((a) => a.id));
        sizes.push(current.attempts.length);
        next = current.next;
      } while (next && sizes.length < 10);
      expect(sizes).toEqual([3, 3, 1]);
      expect(seen).toEqual(newestFirst.map((r) => r.id));
    });

    test('an attempt is shown with its fields; bytes and the requester as JSON numbers and strings', async () => {
      const first = (await page('downloader=histpage&limit=1')).attempts[0];
      const row = newestFirst[0]!;
      expect(first).toEqual({
        id: row.id,
        downloader: 'histpage',
        source: 'yt-dlp',
        platform: 'generic',
        url: row.url,
        contentKey: row.contentKey,
        workflowId: 'download-histpage',
        attempt: 1,
        requestedBy: '7',
        startedAt: row.startedAt.toISOString(),
        finishedAt: row.finishedAt.toISOString(),
        success: row.success,
        bytes: row.bytes === null ? null : Number(row.bytes),
        errorKind: row.errorKind,
        error: row.error,
        counts: row.counts,
        alert: null,
      });
    });

    test('downloader= filters, failures=true keeps the failures, and before= also takes a plain ISO time', async () => {
      const everyone = await page('limit=1');
      expect(everyone.attempts.map((a) => a.id)).toEqual([other.id]);

      const mine = await page('downloader=histpage&limit=500');
      expect(mine.next).toBeNull();
      expect(mine.attempts.every((a) => a.downloader === 'histpage')).toBe(true);
      expect(mine.attempts).toHaveLength(7);

      const failures = await page('downloader=histpage&failures=true');
      expect(failures.attempts.map((a) => a.id)).toEqual(newestFirst.filter((r) => !r.success).map((r) => r.id));

      const older = await page(`downloader=histpage&before=${encodeURIComponent(t0.toISOString())}`);
      expect(older.attempts.map((a) => a.id)).toEqual(newestFirst.filter((r) => r.finishedAt < t0).map((r) => r.id));
    });
  });

  test('DELETE history?days=30 deletes the attempts older than 30 days, answers how many, and keeps the rest', async () => {
    const old = [attemptRow('cleanup', ago(45 * DAY), ok(1)), attemptRow('cleanup', ago(31 * DAY), network)];
    const kept = [attemptRow('cleanup', ago(29 * DAY), ok(1)), attemptRow('cleanup', ago(DAY), network)];
    await database.db.downloadAttempt.createMany({ data: [...old, ...kept] });
    const total = await database.db.downloadAttempt.count();

    const answer = await call('/api/monitoring/history?days=30', { method: 'DELETE' });
    expect(answer).toMatchObject({ status: 200, body: { deleted: 2, days: 30 } });
    expect((await database.db.downloadAttempt.findMany({ where: { downloader: 'cleanup' } })).map((a) => a.id).sort()).toEqual(
      kept.map((a) => a.id).sort(),
    );
    expect(await database.db.downloadAttempt.count()).toBe(total - 2);
    // Nothing older is left: a second clean-up deletes nothing.
    expect((await call('/api/monitoring/history?days=30', { method: 'DELETE' })).body).toEqual({ deleted: 0, days: 30 });
  });

  test('settings: GET shows the defaults; PUT changes some, answers them all, merges downloaders, and GET shows the change', async () => {
    expect(await call('/api/monitoring/settings')).toMatchObject({ status: 200 });
    expect((await call('/api/monitoring/settings')).body).toEqual(MONITORING_DEFAULTS);

    const changed = await call('/api/monitoring/settings', {
      method: 'PUT',
      body: { failureWindowHours: 6, downloaders: { alphatube: false }, channels: { pushover: false } },
    });
    const expected = {
      ...MONITORING_DEFAULTS,
      failureWindowHours: 6,
      downloaders: { alphatube: false },
      channels: { telegram: true, webhook: true, pushover: false },
    };
    expect(changed.status).toBe(200);
    expect(changed.body).toEqual(expected);
    expect((await call('/api/monitoring/settings')).body).toEqual(expected);

    await call('/api/monitoring/settings', { method: 'PUT', body: { downloaders: { betaclips: false }, enabled: false } });
    expect((await call('/api/monitoring/settings')).body).toEqual({
      ...expected,
      enabled: false,
      downloaders: { alphatube: false, betaclips: false },
    });
    expect(logs.entries().filter((e) => e.msg === 'monitoring settings changed through the API')).toHaveLength(2);
  });
});

describe('downloads, through the downloads client', () => {
  const key = (head: string) => head.padEnd(64, '0');
  // Started in this order: two downloading, one paused, one completed.
  const [first, second, paused, done] = ['5a5a0001', '5a5a0002', '5a5a0003', '5a5a0004'];

  let message = 1;
  async function start(head: string) {
    const parsed = parseMediaUrl(`https://example.com/${head}.mp4`);
    if (!parsed.ok) throw new Error('bad link');
    const correlationId = `api-${message}`;
    const started = await downloads.startOrJoin({
      contentKey: key(head),
      url: parsed.url,
      mode: 'video',
      correlationId,
      subscriber: { chatId: 7, userId: 7, messageId: message++, correlationId },
    });
    expect(started).toMatchObject({ outcome: 'started', shortId: head });
  }

  /** Until visibility lists the download in `state` (it follows the workflow by a moment). */
  async function until(head: string, state: string) {
    await eventuallyAsync(
      async () => (await downloads.list({}, { pageSize: 20 })).downloads.some((d) => d.shortId === head && d.state === state),
      15_000,
      `${head} to be listed ${state}`,
    );
  }

  beforeAll(async () => {
    // Released beforehand: it runs to its end at once.
    release(key(done!));
    for (const head of [first!, second!, paused!, done!]) await start(head);
    await until(paused!, 'downloading');
    expect(await downloads.pause(paused!, { id: 'test:api', name: 'the API test' })).toMatchObject({ ok: true });
    await Promise.all([until(first!, 'downloading'), until(second!, 'downloading'), until(paused!, 'paused'), until(done!, 'completed')]);
    // "completed" is recorded a moment before the run closes (it still tells who asked); the
    // order below is visibility's, which lists a run among the running ones until it closes.
    await client.workflow.getHandle(downloadWorkflowId(key(done!))).result();
    await eventuallyAsync(
      async () => (await downloads.list({}, { pageSize: 20 })).downloads.some((d) => d.shortId === done && d.closedAt !== null),
      15_000,
      `${done} to be listed as closed`,
    );
  }, 30_000);

  type Listed = { downloads: Array<{ shortId: string; state: string; closedAt: string | null }>; next: string | null };
  const list = async (query = ''): Promise<Listed> => {
    const answer = await call(`/api/downloads${query}`);
    expect(answer.status).toBe(200);
    return answer.body as Listed;
  };
  const ids = (page: Listed) => page.downloads.map((d) => d.shortId);

  test('GET /api/downloads lists them newest first; state= filters, and active means every state not ended', async () => {
    const all = await list();
    // Temporal visibility's order: those still running newest first, then those that ended, latest ended first.
    expect(ids(all)).toEqual([paused, second, first, done]);
    expect(all.next).toBeNull();
    expect(all.downloads[3]).toMatchObject({ shortId: done, state: 'completed', closedAt: expect.any(String) });
    expect(all.downloads[0]).toMatchObject({ shortId: paused, state: 'paused', closedAt: null });
    expect(ids(await list('?state=downloading'))).toEqual([second, first]);
    expect(ids(await list('?state=paused'))).toEqual([paused]);
    expect(ids(await list('?state=completed'))).toEqual([done]);
    expect(ids(await list('?state=active'))).toEqual([paused, second, first]);
    expect(ids(await list('?state=failed'))).toEqual([]);
  });

  test('limit and cursor page through them, each once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const current: Listed = await list(`?state=active&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(current.downloads.length).toBeLessThanOrEqual(1);
      seen.push(...ids(current));
      cursor = current.next;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual([paused, second, first]);
  });

  test('a cursor that is not one of ours gets 400', async () => {
    const answer = await call('/api/downloads?cursor=bm90LWEtY3Vyc29y');
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: 'bad_request', message: 'querystring.cursor is not a `next` value of this API' });
  });

  test('GET /api/downloads/<short ID> shows the download live; unknown is 404, malformed 400, ambiguous 409 with the candidates', async () => {
    const view = await call(`/api/downloads/${first}`);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({
      contentKey: key(first!),
      shortId: first,
      url: `https://example.com/${first}.mp4`,
      state: 'downloading',
      running: true,
      paused: false,
      requestedBy: ['7'],
      subscribers: 1,
      progress: { percent: 42, downloadedBytes: 420, totalBytes: 1000, attempt: 1 },
    });
    // The full content key finds it too, in capitals as well.
    expect((await call(`/api/downloads/${key(paused!).toUpperCase()}`)).body).toMatchObject({
      shortId: paused,
      state: 'paused',
      paused: true,
    });

    expect(await call('/api/downloads/cccccccc')).toMatchObject({
      status: 404,
      body: { error: 'not_found', message: 'no download has the ID cccccccc' },
    });
    // Hex, but shorter than any short ID.
    expect(await call('/api/downloads/abcd')).toMatchObject({ status: 400, body: { error: 'bad_id' } });
    expect(await call('/api/downloads/5a5a00')).toMatchObject({
      status: 409,
      body: { error: 'ambiguous', candidates: [first, second, paused, done] },
    });
  });

  test('/metrics counts the downloads by state and the open incidents', async () => {
    const metrics = await call('/metrics', { authorization: null });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const value = (series: string) => {
      const line = metrics.text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.slice(series.length + 1));
    };
    expect(value('mediadl_downloads{state="downloading"}')).toBe(2);
    expect(value('mediadl_downloads{state="paused"}')).toBe(1);
    expect(value('mediadl_downloads{state="queued"}')).toBe(0);
    // betaclips' incident, opened by the monitoring tests above.
    expect(value('mediadl_monitor_open_incidents')).toBe(1);
    expect(value('mediadl_downloader_attempts_24h{downloader="alphatube",result="success"}')).toBe(2);
    expect(metrics.text).toMatch(/^# HELP mediadl_api_process_cpu_user_seconds_total/m);
  });
});

describe('/readyz', () => {
  test('answers 200 when PostgreSQL, Redis and Temporal all answer', async () => {
    expect(await call('/readyz', { authorization: null })).toMatchObject({
      status: 200,
      body: { ready: true, failing: [], checks: { postgres: 'ok', redis: 'ok', temporal: 'ok' } },
    });
  });

  test('answers 503 naming PostgreSQL when it is unreachable', async () => {
    // Nothing listens on port 1.
    // The answer names the dependency only; a driver's message (hosts, users, passwords) stays in the log.
    const db = createDb('postgresql://postgres:readyz-secret-password@127.0.0.1:1/nothing');
    try {
      await withServer({ db }, async (callBroken) => {
        expect(await callBroken('/readyz', { authorization: null })).toMatchObject({
          status: 503,
          body: {
            ready: false,
            failing: ['postgres'],
            checks: { postgres: 'unreachable', redis: 'ok', temporal: 'ok' },
          },
        });
        expect(JSON.stringify(await callBroken('/readyz', { authorization: null }))).not.toContain('readyz-secret-password');
      });
    } finally {
      await db.$disconnect();
    }
  });

  test('answers 503 naming Redis when it is unreachable', async () => {
    // Nothing listens on port 1; no retries and no queue, so every command fails at once, once its one
    // connection attempt has failed.
    const down = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null });
    down.on('error', () => undefined);
    await expect(down.connect()).rejects.toThrow();
    try {
      await withServer({ redis: down }, async (callBroken) => {
        expect(await callBroken('/readyz', { authorization: null })).toMatchObject({
          status: 503,
          body: {
            ready: false,
            failing: ['redis'],
            checks: { postgres: 'ok', redis: 'unreachable', temporal: 'ok' },
          },
        });
      });
    } finally {
      // Already ended (no retries); disconnecting an ended client would leave a 2 s timer of ioredis running.
      if (down.status !== 'end') down.disconnect();
    }
  });
});

describe('/openapi.json', () => {
  test('is an OpenAPI 3 document of the /api routes, their parameters and the bearer scheme', async () => {
    const answer = await call('/openapi.json', { authorization: null });
    expect(answer.status).toBe(200);
    const doc = answer.body as {
      openapi: string;
      components: { securitySchemes: Record<string, unknown> };
      security: unknown[];
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: unknown }>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes).toEqual({ bearer: { type: 'http', scheme: 'bearer' } });
    expect(doc.security).toEqual([{ bearer: [] }]);
    // Health, metrics, this document and the dashboard are hidden: only the API is described.
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/downloads',
      '/api/downloads/{id}',
      '/api/monitoring/history',
      '/api/monitoring/series',
      '/api/monitoring/settings',
      '/api/monitoring/status',
    ]);
    const params = (path: string, method: string) => (doc.paths[path]![method]!.parameters ?? []).map((p) => `${p.in}:${p.name}`).sort();
    expect(params('/api/monitoring/status', 'get')).toEqual(['query:hours']);
    expect(params('/api/monitoring/series', 'get')).toEqual(['query:bucket', 'query:hours']);
    expect(params('/api/monitoring/history', 'get')).toEqual(['query:before', 'query:downloader', 'query:failures', 'query:limit']);
    expect(params('/api/monitoring/history', 'delete')).toEqual(['query:days']);
    expect(params('/api/downloads', 'get')).toEqual(['query:cursor', 'query:limit', 'query:state']);
    expect(params('/api/downloads/{id}', 'get')).toEqual(['path:id']);
    expect(doc.paths['/api/monitoring/settings']!.put!.requestBody).toBeDefined();
    // Every route the auth tests try is described, and every described one is tried there.
    const described = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
    const tried = API_ROUTES.map((r) => `${r.method} ${r.path.split('?')[0]!.replace(/\/abcdef01$/, '/{id}')}`);
    expect(described.sort()).toEqual([...new Set(tried)].sort());
  });
});
