import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { buildApiServer } from '../../api/server';
import { createLogger, LogCollector } from '../../lib/logger';
import { createRedis, redisReady, type Redis } from '../../lib/redis';
import { replyTo, sendText } from '../support/bot-messages';
import { ADMIN_ID, startStack, type Stack } from '../support/stack';

/**
 * The monitoring dashboard in Debian's headless Chromium, served by the real API
 * server and showing attempts from real downloads (bot, Temporal, worker, yt-dlp,
 * PostgreSQL): the charts render, the tables fill, a refused token brings the
 * form back, and a screenshot is kept in test-artifacts/.
 */

const TOKEN = 'dashboard-test-token-0123456789abcdef';
const ARTIFACTS = path.resolve(__dirname, '../../test-artifacts');
// Text that would run as markup if the page ever used innerHTML for API data.
const HOSTILE_ERROR = '<img src=x onerror="window.__injected = true"> ERROR: [examplesite] boom';
const HOSTILE_URL = 'javascript:window.__injected=true';

let stack: Stack;
let redis: Redis | undefined;
let app: FastifyInstance | undefined;
let browser: Browser | undefined;
let dashboardUrl: string;
const apiLogs = new LogCollector();
let okUrl: string;
let goneUrl: string;

beforeAll(async () => {
  stack = await startStack();
  await downloadOneGoodAndOneGoneLink();
  await recordHostileIncident();

  redis = createRedis(stack.config.REDIS_URL, stack.config.REDIS_KEY_PREFIX);
  redis.on('error', () => undefined);
  await redisReady(redis);
  app = await buildApiServer({
    db: stack.database.db,
    downloads: stack.downloads,
    temporal: stack.client,
    redis,
    token: TOKEN,
    logger: createLogger({ level: 'info', secrets: [TOKEN], destination: apiLogs }),
  });
  dashboardUrl = `${await app.listen({ host: '127.0.0.1', port: 0 })}/`;

  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // Without the background-networking flags Chromium's own connections are refused here (docs/environment.md).
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 90_000);

afterAll(async () => {
  // Each step runs even when an earlier one fails; the first failure is reported.
  const steps = [() => browser?.close(), () => app?.close(), () => redis?.disconnect(), () => stack?.stop()];
  const errors: unknown[] = [];
  for (const step of steps)
    await Promise.resolve()
      .then(step)
      .catch((err: unknown) => errors.push(err));
  if (errors.length) throw errors[0];
});

/** Two real downloads through the bot: one succeeds, one fails for good (404); their attempts are then in PostgreSQL. */
async function downloadOneGoodAndOneGoneLink(): Promise<void> {
  okUrl = stack.media.route('/dashboard/ok.mp4');
  goneUrl = stack.media.route('/dashboard/gone.mp4', { status: 404 });
  const okMessage = sendText(stack.telegram, okUrl, ADMIN_ID);
  const goneMessage = sendText(stack.telegram, goneUrl, ADMIN_ID);
  await Promise.all([
    stack.telegram.waitForCall(replyTo(ADMIN_ID, okMessage, /Downloaded/), 60_000, 'the completion message'),
    stack.telegram.waitForCall(replyTo(ADMIN_ID, goneMessage, /Download failed/), 60_000, 'the failure message'),
  ]);
  await stack.journal.flush();
  const stored = await stack.database.db.downloadAttempt.findMany({ where: { url: { in: [okUrl, goneUrl] } } });
  expect(stored.map((a) => [a.url, a.success, a.downloader]).sort()).toEqual(
    [
      [goneUrl, false, 'generic'],
      [okUrl, true, 'generic'],
    ].sort(),
  );
}

/**
 * A failing downloader with an open incident whose texts are markup and a
 * javascript: link, as a hostile site could make them: the page must show them
 * as text. (Written directly: no real site fails this way on demand.)
 */
async function recordHostileIncident(): Promise<void> {
  const finishedAt = new Date(Date.now() - 2 * 3_600_000);
  await stack.database.db.downloadAttempt.create({
    data: failedAttempt({ downloader: 'examplesite', url: 'https://example.invalid/watch?v=1', error: HOSTILE_ERROR, finishedAt }),
  });
  await stack.database.db.monitorIncident.create({
    data: {
      downloader: 'examplesite',
      openFor: 'examplesite',
      openedAt: finishedAt,
      consecutiveFailures: 3,
      lastError: HOSTILE_ERROR,
      exampleUrl: HOSTILE_URL,
    },
  });
}

function failedAttempt(o: { downloader: string; url: string; error: string; finishedAt: Date }) {
  return {
    id: randomUUID(),
    contentKey: `test:${randomUUID()}`,
    workflowId: `download-test-${randomUUID()}`,
    attempt: 1,
    source: 'yt-dlp',
    downloader: o.downloader,
    platform: o.downloader,
    url: o.url,
    requestedBy: BigInt(ADMIN_ID),
    startedAt: new Date(o.finishedAt.getTime() - 5_000),
    finishedAt: o.finishedAt,
    success: false,
    bytes: null,
    errorKind: 'Network',
    error: o.error,
    counts: true,
  };
}

/** A fresh browser context (its own sessionStorage) and page, with every console error and page error collected. */
async function openPage(o: { fakeClock?: boolean } = {}): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
  if (o.fakeClock) await context.clock.install();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (err) => errors.push(`page error: ${err.message}`));
  await page.goto(dashboardUrl);
  return { context, page, errors };
}

async function signIn(page: Page, token: string): Promise<void> {
  await page.locator('#token').waitFor({ state: 'visible' });
  await page.fill('#token', token);
  await page.click('#connect');
}

const chart = (downloader: string, period: '24h' | '7d') => `svg[data-downloader="${downloader}"][data-period="${period}"]`;

/** The bars of a chart as drawn: their height and the attempts they stand for. */
async function barsOf(page: Page, selector: string): Promise<Array<{ height: number; attempts: number; successes: number; tip: string }>> {
  return page.$$eval(`${selector} rect.bar`, (bars) =>
    bars.map((bar) => ({
      height: Number(bar.getAttribute('height')),
      attempts: Number(bar.getAttribute('data-attempts')),
      successes: Number(bar.getAttribute('data-successes')),
      tip: bar.querySelector('title')?.textContent ?? '',
    })),
  );
}

test('the dashboard charts real attempts per downloader and lists incidents and failures', async () => {
  const { context, page, errors } = await openPage();
  const apiRequests: Array<string | undefined> = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname.startsWith('/api/')) apiRequests.push(request.headers().authorization);
  });
  await signIn(page, TOKEN);
  await page.locator(chart('generic', '24h')).waitFor({ timeout: 15_000 });

  for (const period of ['24h', '7d'] as const) {
    const bars = await barsOf(page, chart('generic', period));
    expect(bars.length).toBeGreaterThanOrEqual(period === '24h' ? 24 : 7);
    const drawn = bars.filter((b) => b.height > 0);
    expect(drawn.length).toBeGreaterThanOrEqual(1);
    // Both real attempts (the success and the 404) are counted, and only they
    // (in one bucket or, across an hour's end, two).
    expect(bars.reduce((n, b) => n + b.attempts, 0)).toBe(2);
    expect(bars.reduce((n, b) => n + b.successes, 0)).toBe(1);
    for (const bar of drawn) expect(bar.tip).toMatch(/: \d attempts?, \d succeeded \(\d+(\.\d)?%\)$/);
    expect(await page.locator(chart('generic', period)).getAttribute('aria-label')).toMatch(/generic, last .*: 2 attempts, 50% succeeded/);
  }
  // The other downloader has its own charts.
  expect((await barsOf(page, chart('examplesite', '24h'))).some((b) => b.height > 0)).toBe(true);

  const failures = page.locator('#failures tbody');
  await expect(failures.textContent()).resolves.toContain(goneUrl);
  await expect(failures.textContent()).resolves.toContain('NotFound');
  await expect(failures.textContent()).resolves.not.toContain(okUrl);

  // Texts from the API are text: the markup shows literally, nothing ran, no javascript: link exists.
  const incidents = page.locator('#incidents tbody');
  await expect(incidents.textContent()).resolves.toContain('examplesite');
  await expect(incidents.textContent()).resolves.toContain(HOSTILE_ERROR);
  await expect(failures.textContent()).resolves.toContain(HOSTILE_ERROR);
  expect(await page.locator('main img').count()).toBe(0);
  expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
  expect(await page.evaluate(() => (globalThis as { __injected?: boolean }).__injected)).toBeUndefined();

  await expect(page.locator('#updated').textContent()).resolves.toMatch(/^updated \d/);
  expect(await page.locator('#error').isHidden()).toBe(true);
  expect(apiRequests.length).toBeGreaterThanOrEqual(5);
  expect(new Set(apiRequests)).toEqual(new Set([`Bearer ${TOKEN}`]));
  expect(apiLogs.lines.join('')).not.toContain(TOKEN);

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  expect(errors).toEqual([]);
  await context.close();
});

test('the dashboard refreshes itself every 30 seconds', async () => {
  const { context, page, errors } = await openPage({ fakeClock: true });
  await signIn(page, TOKEN);
  await page.locator(chart('generic', '24h')).waitFor({ timeout: 15_000 });
  const laterUrl = 'https://example.invalid/later.mp4';
  await stack.database.db.downloadAttempt.create({
    data: failedAttempt({ downloader: 'examplesite', url: laterUrl, error: 'HTTP Error 503', finishedAt: new Date() }),
  });
  expect(await page.locator('#failures tbody').textContent()).not.toContain(laterUrl);

  await page.clock.fastForward(30_000);
  await page.locator('#failures tbody', { hasText: laterUrl }).waitFor({ timeout: 10_000 });
  expect(errors).toEqual([]);
  await context.close();
});

test('a wrong token is refused with a clear message and the form comes back', async () => {
  const { context, page, errors } = await openPage();
  await signIn(page, 'not-the-token');
  const message = page.locator('#error');
  await message.waitFor({ state: 'visible', timeout: 10_000 });
  await expect(message.textContent()).resolves.toMatch(/refused this token \(HTTP 401\)/);
  expect(await page.locator('#token').isVisible()).toBe(true);
  expect(await page.locator('#dashboard').isHidden()).toBe(true);
  // (An expression: the project's types have no DOM.)
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  // Chromium reports each refused request in the console; nothing else may be there.
  expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
  await context.close();
});
