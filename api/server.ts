import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import swagger from '@fastify/swagger';
import type { Client } from '@temporalio/client';
import Ajv from 'ajv';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { ACTIVE_STATES, DOWNLOAD_STATES, type DownloadState } from '../domain/downloads/definitions';
import type { DownloadsClient } from '../domain/downloads/client';
import { attemptHistory, attemptSeries, decodeCursor, deleteAttemptsOlderThan, downloaderStatus } from '../domain/monitoring/health';
import { DOWNLOADER_NAME, loadSettings, updateSettings, LIMITS, CHANNELS } from '../domain/monitoring/settings';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';

export interface ApiDeps {
  db: Db;
  redis: Redis;
  downloads: DownloadsClient;
  temporal: Client;
  /** API_TOKEN; unset: every /api/* request is refused. */
  token: string | undefined;
  logger: Logger;
}

/** How long /readyz waits for each dependency. */
const READY_TIMEOUT_MS = 2_000;
const DASHBOARD = path.join(__dirname, 'dashboard.html');

/** Compares in constant time (both sides hashed first, so their lengths do not show either). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref()),
  ]);
}

const hoursParam = { type: 'integer', minimum: 1, maximum: 24 * 90, default: 24, description: 'The period, in hours back from now.' };

/**
 * The HTTP API: monitoring (status, history, settings, series for the
 * dashboard), downloads through the downloads client, health and readiness,
 * Prometheus metrics, an OpenAPI description and the dashboard page. Fastify:
 * maintained, fast, and it validates every request against a JSON schema that
 * also becomes the OpenAPI description, so the two cannot drift apart.
 */
export async function buildApiServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 64 * 1024,
  });
  // Unknown parameters are refused rather than ignored (400 names them). Query strings are text, so their
  // numbers and booleans are converted; a JSON body must carry the right types ("false" is not false).
  const queries = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: 'array', allErrors: false });
  const bodies = new Ajv({ removeAdditional: false, useDefaults: true, coerceTypes: false, allErrors: false });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodies : queries).compile(schema));

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Media downloader API',
        version: '1',
        description: 'Downloader health monitoring and downloads. Every /api/* route needs `Authorization: Bearer <API_TOKEN>`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation) {
      const first = err.validation[0];
      const where = first?.instancePath ? first.instancePath.slice(1).replace(/\//g, '.') : String(first?.params?.missingProperty ?? '');
      // An unknown parameter is named too (Ajv's own message does not say which one).
      const unknown = first?.params?.additionalProperty;
      const message =
        unknown === undefined
          ? `${err.validationContext ?? 'request'}${where ? `.${where}` : ''} ${first?.message ?? 'is not valid'}`
          : `${err.validationContext ?? 'request'}.${where ? `${where}.` : ''}${String(unknown).slice(0, 64)} is not a known parameter`;
      return reply.code(400).send({ error: 'bad_request', message });
    }
    if (err.statusCode && err.statusCode < 500) return reply.code(err.statusCode).send({ error: 'bad_request', message: err.message });
    request.log.error({ err }, 'API request failed');
    return reply.code(500).send({ error: 'internal', message: 'the request failed on the server; see its log' });
  });

  app.addHook('onRequest', async (request, reply) => {
    // The route matched, not the raw URL: the router decodes percent-escapes, so /%61pi/... reaches an /api/ route.
    if (!(request.routeOptions.url ?? request.url).startsWith('/api/')) return;
    const header = request.headers.authorization ?? '';
    // The scheme's name is case-insensitive (RFC 9110); the token is not.
    const given = /^bearer /i.test(header) ? header.slice(7) : '';
    if (!deps.token || !given || !sameSecret(given, deps.token)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
    }
  });

  const metrics = apiMetrics(deps);

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    // Each check has its own deadline; one that hangs does not hold up the others.
    const checks = {
      postgres: () => deps.db.$queryRaw`SELECT 1`,
      redis: () => deps.redis.ping(),
      temporal: () => deps.temporal.workflowService.getSystemInfo({}),
    };
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await withTimeout(check(), READY_TIMEOUT_MS, name);
          return [name, 'ok'] as const;
        } catch (err) {
          // The reason goes to the (redacted) log, not to the answer: driver messages can name hosts and users.
          _request.log.warn({ err, dependency: name }, 'not ready: a dependency does not answer');
          return [name, 'unreachable'] as const;
        }
      }),
    );
    const failing = results.filter(([, state]) => state !== 'ok').map(([name]) => name);
    return reply.code(failing.length ? 503 : 200).send({ ready: failing.length === 0, failing, checks: Object.fromEntries(results) });
  });

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    return reply.type(metrics.contentType).send(await metrics.metrics());
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.get('/', { schema: { hide: true } }, async (_request, reply) => {
    const page = await fs.promises.readFile(DASHBOARD, 'utf8');
    return reply
      .type('text/html; charset=utf-8')
      .header(
        'content-security-policy',
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
      )
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(page);
  });

  app.get(
    '/api/monitoring/status',
    {
      schema: {
        summary:
          'Per downloader: attempts, successes, failures, bytes, success rate, last success and attempt, failure streak, open incident',
        querystring: { type: 'object', additionalProperties: false, properties: { hours: hoursParam } },
      },
    },
    async (request) => {
      const { hours } = request.query as { hours: number };
      return { hours, downloaders: await downloaderStatus(deps.db, hours) };
    },
  );

  app.get(
    '/api/monitoring/series',
    {
      schema: {
        summary: 'Attempts and successes per downloader in hourly or daily buckets (the dashboard charts)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { hours: hoursParam, bucket: { type: 'string', enum: ['hour', 'day'], default: 'hour' } },
        },
      },
    },
    async (request) => {
      const { hours, bucket } = request.query as { hours: number; bucket: 'hour' | 'day' };
      return { hours, bucket, series: await attemptSeries(deps.db, hours, bucket) };
    },
  );

  app.get(
    '/api/monitoring/history',
    {
      schema: {
        summary: 'Download attempts, newest first, one page at a time',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            downloader: { type: 'string', pattern: DOWNLOADER_NAME.source, description: 'Only this downloader (extractor key).' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            before: { type: 'string', maxLength: 80, description: 'The `next` of the previous page, or an ISO time.' },
            failures: { type: 'boolean', default: false, description: 'Only failed attempts.' },
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query as { downloader?: string; limit: number; before?: string; failures: boolean };
      const before = q.before === undefined ? undefined : decodeCursor(q.before);
      if (before === null)
        return reply.code(400).send({ error: 'bad_request', message: 'querystring.before must be a `next` value or an ISO time' });
      return attemptHistory(deps.db, { downloader: q.downloader, limit: q.limit, before, failuresOnly: q.failures });
    },
  );

  app.delete(
    '/api/monitoring/history',
    {
      schema: {
        summary: 'Deletes attempts that ended more than `days` days ago; answers how many',
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['days'],
          properties: { days: { type: 'integer', minimum: 1, maximum: 3650 } },
        },
      },
    },
    async (request) => {
      const { days } = request.query as { days: number };
      const deleted = await deleteAttemptsOlderThan(deps.db, days);
      request.log.info({ deleted, days }, 'monitoring history cleaned up through the API');
      return { deleted, days };
    },
  );

  const settingsBody = {
    type: 'object',
    additionalProperties: false,
    properties: {
      enabled: { type: 'boolean' },
      ...Object.fromEntries(Object.entries(LIMITS).map(([k, { min, max }]) => [k, { type: 'integer', minimum: min, maximum: max }])),
      downloaders: {
        type: 'object',
        propertyNames: { pattern: DOWNLOADER_NAME.source },
        additionalProperties: { type: 'boolean' },
      },
      channels: {
        type: 'object',
        additionalProperties: false,
        properties: Object.fromEntries(CHANNELS.map((c) => [c, { type: 'boolean' }])),
      },
    },
  };

  app.get('/api/monitoring/settings', { schema: { summary: 'The monitoring settings (defaults filled in)' } }, async () =>
    loadSettings(deps.db),
  );

  app.put(
    '/api/monitoring/settings',
    { schema: { summary: 'Changes some monitoring settings; answers them all', body: settingsBody } },
    async (request, reply) => {
      const result = await updateSettings(deps.db, request.body ?? {});
      if (!result.ok) return reply.code(400).send({ error: 'bad_request', message: result.reason });
      request.log.info({ settings: result.settings }, 'monitoring settings changed through the API');
      return result.settings;
    },
  );

  app.get(
    '/api/downloads',
    {
      schema: {
        summary: 'Downloads from Temporal visibility in its order (running ones first, then ended ones, latest first), one page at a time',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: [...DOWNLOAD_STATES, 'active'] },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 20 },
            cursor: { type: 'string', maxLength: 4096, pattern: '^[A-Za-z0-9_-]+$' },
          },
        },
      },
    },
    async (request, reply) => {
      const q = request.query as { state?: DownloadState | 'active'; limit: number; cursor?: string };
      const states = q.state === 'active' ? ACTIVE_STATES : q.state ? [q.state] : undefined;
      try {
        const page = await deps.downloads.list(states ? { states } : {}, { pageSize: q.limit, nextPageToken: q.cursor ?? null });
        return { downloads: page.downloads, next: page.nextPageToken };
      } catch (err) {
        // A cursor Temporal cannot read is the caller's mistake: the same list without it works. (Servers word
        // it differently: the dev server's SQLite store answers "something went wrong, please retry".)
        const worksWithoutCursor = async () =>
          deps.downloads.list(states ? { states } : {}, { pageSize: 1 }).then(
            () => true,
            () => false,
          );
        if (q.cursor && (await worksWithoutCursor())) {
          return reply.code(400).send({ error: 'bad_request', message: 'querystring.cursor is not a `next` value of this API' });
        }
        throw err;
      }
    },
  );

  app.get(
    '/api/downloads/:id',
    {
      schema: {
        summary: 'One download in detail (live progress while it runs), by short ID (8+ hex digits) or content key',
        params: { type: 'object', properties: { id: { type: 'string', pattern: '^[0-9a-fA-F]{4,64}$' } }, required: ['id'] },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const view = await deps.downloads.describe(id);
      if (view.ok) return view;
      const status = { not_found: 404, bad_id: 400, ambiguous: 409, unavailable: 503, finished: 409, refused: 409 }[view.reason];
      return reply
        .code(status)
        .send({ error: view.reason, message: view.message, ...('candidates' in view ? { candidates: view.candidates } : {}) });
    },
  );

  app.addHook('onClose', async () => metrics.clear());
  return app;
}

/** The API's metrics: what is queued and running (from Temporal visibility) and the monitoring's open incidents, read at each scrape. */
function apiMetrics(deps: ApiDeps): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'mediadl_api_' });
  new Gauge({
    name: 'mediadl_downloads',
    help: 'Downloads not yet ended, by state (queue depth), from Temporal visibility.',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      // A source that does not answer leaves its metric out of this scrape rather than failing the scrape.
      const counts = await deps.downloads.countByState().catch(() => null);
      this.reset();
      if (counts) for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'mediadl_monitor_open_incidents',
    help: 'Downloaders with an open monitoring incident (failing persistently).',
    registers: [registry],
    async collect() {
      const open = await deps.db.monitorIncident.count({ where: { openFor: { not: null } } }).catch(() => null);
      this.reset();
      if (open !== null) this.set(open);
    },
  });
  new Gauge({
    name: 'mediadl_downloader_attempts_24h',
    help: 'Download attempts that ended in the last 24 hours, by downloader and result.',
    labelNames: ['downloader', 'result'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const s of await downloaderStatus(deps.db, 24).catch(() => [])) {
        this.set({ downloader: s.downloader, result: 'success' }, s.successes);
        this.set({ downloader: s.downloader, result: 'failure' }, s.failures);
      }
    },
  });
  return registry;
}
