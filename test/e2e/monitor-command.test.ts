import { randomUUID } from 'node:crypto';
import { loadSettings, MONITORING_DEFAULTS } from '../../domain/monitoring/settings';
import { askBot } from '../support/bot-messages';
import { ADMIN_ID, startStack, type Stack } from '../support/stack';

/**
 * /monitor through the real bot on PostgreSQL and Redis (only Telegram is
 * faked): the settings shown and changed as an owner, bad values refused with
 * nothing stored, a trial user refused, and a downloader's recorded attempts
 * and open incident in the summary.
 */

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const TRIAL = 3103;

async function ask(text: string, userId = ADMIN_ID): Promise<string> {
  return String((await askBot(stack.telegram, userId, text)).payload.text);
}

const stored = () => loadSettings(stack.database.db);

test('/monitor shows the defaults; each form changes the stored settings and says what changed', async () => {
  const shown = await ask('/monitor');
  expect(shown).toMatch(/^📈 Monitoring: alerts on\n/);
  expect(shown).toContain('Alert after 2 failures in a row within 3 hours');
  expect(shown).toContain('Attempt history kept 30 days');
  expect(shown).toContain('Channels: telegram on, webhook on, pushover on');
  expect(shown).toContain('Downloaders off: none');
  expect(shown).toContain('Last 24 h:\nno download attempts');

  expect(await ask('/monitor off')).toBe('✅ Alerts: off (was on).');
  expect((await stored()).enabled).toBe(false);
  expect(await ask('/monitor off')).toBe('Alerts: off, as it already was; nothing changed.');
  expect(await ask('/monitor ON')).toBe('✅ Alerts: on (was off).');
  expect((await stored()).enabled).toBe(true);

  expect(await ask('/monitor window 6')).toBe('✅ Failure window: 6 hours (was 3 hours).');
  expect(await ask('/monitor failures 4')).toBe('✅ Alert after: 4 failures in a row (was 2 failures in a row).');
  expect(await ask('/monitor retention 90')).toBe('✅ Attempt history kept: 90 days (was 30 days).');
  expect(await ask('/monitor downloader YouTube off')).toBe('✅ Alerts for youtube: off (was on).');
  expect(await ask('/monitor channel webhook off')).toBe('✅ Channel webhook: off (was on).');
  expect(await stored()).toEqual({
    ...MONITORING_DEFAULTS,
    failureWindowHours: 6,
    minConsecutiveFailures: 4,
    retentionDays: 90,
    downloaders: { youtube: false },
    channels: { telegram: true, webhook: false, pushover: true },
  });
  const after = await ask('/monitor');
  expect(after).toContain('Alert after 4 failures in a row within 6 hours');
  expect(after).toContain('Channels: telegram on, webhook off, pushover on');
  expect(after).toContain('Downloaders off: youtube');
  expect(await ask('/monitor downloader youtube on')).toBe('✅ Alerts for youtube: on (was off).');
  expect((await stored()).downloaders).toEqual({ youtube: true });
});

test('bad values are refused with the allowed range and change nothing; other text gets the usage; a trial user is refused', async () => {
  const before = await stored();
  expect(await ask('/monitor window 0')).toBe(
    '"0" is not allowed: give a whole number from 1 to 720: /monitor window <hours>. Nothing changed.',
  );
  expect(await ask('/monitor failures 1001')).toMatch(/from 1 to 1000.*Nothing changed\.$/);
  expect(await ask('/monitor retention 2.5')).toMatch(/from 1 to 3650.*Nothing changed\.$/);
  expect(await ask('/monitor retention')).toBe('Give a whole number from 1 to 3650: /monitor retention <days>. Nothing changed.');
  expect(await ask('/monitor downloader bad/name off')).toMatch(/^"bad\/name" is not a downloader name/);
  expect(await ask('/monitor channel sms off')).toBe(
    'There is no channel "sms": the channels are telegram, webhook, pushover. Nothing changed.',
  );
  const usage = await ask('/monitor sometimes');
  expect(usage).toMatch(/^Usage:\n\/monitor - /);
  expect(usage).toContain('/monitor downloader <name> on | off');
  expect(await ask('/monitor channel telegram maybe')).toBe(usage);

  expect(await ask(`/grant ${TRIAL} trial`)).toBe(`✅ ${TRIAL} is now a trial user for good.`);
  expect(await ask('/monitor off', TRIAL)).toBe('/monitor is for admins only; you are a trial user. /whoami tells you more.');
  expect(await stored()).toEqual(before);
});

test("/monitor shows a downloader's recorded attempts, its failure streak and its open incident", async () => {
  const db = stack.database.db;
  const attempt = (downloader: string, success: boolean, minutesAgo: number) => {
    const finishedAt = new Date(Date.now() - minutesAgo * 60_000);
    return db.downloadAttempt.create({
      data: {
        id: randomUUID(),
        contentKey: `key-${downloader}-${minutesAgo}`,
        workflowId: `download-${downloader}-${minutesAgo}`,
        attempt: 1,
        downloader,
        platform: downloader,
        url: `https://${downloader}.example/v/${minutesAgo}`,
        startedAt: new Date(finishedAt.getTime() - 5_000),
        finishedAt,
        success,
        bytes: success ? 1_000_000n : null,
        errorKind: success ? null : 'extractor',
        error: success ? null : 'Unable to extract video data',
        counts: true,
      },
    });
  };
  await attempt('vimeo', true, 50);
  await attempt('vimeo', false, 40);
  await attempt('vimeo', false, 30);
  await attempt('vimeo', false, 20);
  await attempt('generic', true, 10);
  await db.monitorIncident.create({
    data: { downloader: 'vimeo', openFor: 'vimeo', consecutiveFailures: 3, openedAt: new Date(Date.now() - 25 * 60_000) },
  });
  // An attempt two days old is outside the summary's 24 hours.
  await attempt('dailymotion', false, 48 * 60);

  const shown = await ask('/monitor');
  expect(shown).toContain(
    'Last 24 h:\n' +
      '🔴 vimeo: 4 attempts, 25% ok, 3 failing in a row, 🚨 incident open since 25 minutes ago\n' +
      '🟢 generic: 1 attempt, 100% ok, no failure streak\n',
  );
  expect(shown).not.toContain('dailymotion');
});
