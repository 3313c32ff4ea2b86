import { replyTo, sendText } from '../support/bot-messages';
import { eventuallyAsync } from '../support/eventually';
import { ADMIN_ID, OTHER_ADMIN_ID, startStack, type Stack } from '../support/stack';

/**
 * Downloader health monitoring on the whole product: real downloads through
 * the bot, Temporal, the worker and yt-dlp against a media server that fails
 * on purpose. A download that fails once and then works raises nothing; one
 * that keeps failing raises one alert to each admin; a 404 counts for nothing;
 * the next good download sends one recovery message.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({}, { alerts: true });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

/** Alert messages (not replies) sent to an admin about the generic downloader. */
const alertsTo = (chatId: number, pattern: RegExp) =>
  stack.telegram
    .callsTo('sendMessage')
    .filter((c) => Number(c.payload.chat_id) === chatId && !c.payload.reply_parameters && pattern.test(String(c.payload.text)));

async function download(path: string, route: Parameters<Stack['media']['route']>[1], outcome: RegExp): Promise<string> {
  const url = stack.media.route(path, route);
  const message = sendText(stack.telegram, url, ADMIN_ID);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, message, outcome), 90_000, `the answer for ${path}`);
  // Stored (and judged) right away rather than when the background flush comes round.
  await stack.journal.flush();
  return url;
}

test('a failure then a success raises nothing, nor does one link failing on every retry; two failing downloads raise one alert per admin; a 404 counts for nothing; the next success sends one recovery message', async () => {
  await download('/monitor/flaky.mp4', { failFirst: 1, failStatus: 503 }, /Downloaded/);
  const flaky = await stack.database.db.downloadAttempt.findMany({ orderBy: { finishedAt: 'asc' } });
  expect(flaky.map((a) => [a.downloader, a.success, a.errorKind, a.counts])).toEqual([
    ['generic', false, 'ServerError', true],
    ['generic', true, null, true],
  ]);
  expect(flaky[1]).toMatchObject({ source: 'yt-dlp', attempt: 2, requestedBy: BigInt(ADMIN_ID) });
  expect(await stack.database.db.monitorIncident.count()).toBe(0);

  // One link failing on every retry is one failed download: no alert yet.
  const brokenUrl = await download('/monitor/broken.mp4', { failFirst: 1_000, failStatus: 503 }, /Download failed/);
  expect(await stack.database.db.downloadAttempt.count({ where: { url: brokenUrl } })).toBeGreaterThanOrEqual(3);
  expect(await stack.database.db.monitorIncident.count()).toBe(0);
  // A second download failing the same way is the downloader's trouble.
  const alsoBrokenUrl = await download('/monitor/also-broken.mp4', { failFirst: 1_000, failStatus: 503 }, /Download failed/);
  const failing = /generic failing/;
  await eventuallyAsync(
    async () => alertsTo(ADMIN_ID, failing).length > 0 && alertsTo(OTHER_ADMIN_ID, failing).length > 0,
    20_000,
    'the alerts',
  );
  const [alert] = alertsTo(ADMIN_ID, failing);
  expect(String(alert!.payload.text)).toMatch(/failed attempts of 2 downloads in a row/);
  expect(String(alert!.payload.text)).toContain(`Example link: ${alsoBrokenUrl}`);
  expect(String(alert!.payload.text)).toMatch(/Last success: (just now|\d+ (second|minute)s? ago)/);

  // A link that does not exist is the user's problem, not the downloader's.
  await download('/monitor/missing.mp4', { status: 404 }, /Download failed/);
  await download('/monitor/fixed.mp4', {}, /Downloaded/);
  const recovered = /generic recovered/;
  await eventuallyAsync(
    async () => alertsTo(ADMIN_ID, recovered).length > 0 && alertsTo(OTHER_ADMIN_ID, recovered).length > 0,
    20_000,
    'the recovery messages',
  );
  // Exactly one of each, to each admin, however many attempts failed.
  for (const admin of [ADMIN_ID, OTHER_ADMIN_ID]) {
    expect(alertsTo(admin, failing)).toHaveLength(1);
    expect(alertsTo(admin, recovered)).toHaveLength(1);
  }
  expect(await stack.database.db.monitorIncident.findMany()).toEqual([
    expect.objectContaining({ downloader: 'generic', openFor: null, closedBy: 'recovered', exampleUrl: alsoBrokenUrl, failedDownloads: 2 }),
  ]);
}, 240_000);
