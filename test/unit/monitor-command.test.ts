import { changeText, healthLine, overviewText, parseMonitorArgs, patchOf, usageText } from '../../bot/features/monitor';
import type { DownloaderStatus } from '../../domain/monitoring/health';
import { applyPatch, LIMITS, MONITORING_DEFAULTS, type MonitoringSettings } from '../../domain/monitoring/settings';

const NOW = new Date('2026-11-24T12:00:00Z');

test('/monitor reads each form, in any case', () => {
  expect(parseMonitorArgs('')).toEqual({ kind: 'show' });
  expect(parseMonitorArgs('   ')).toEqual({ kind: 'show' });
  expect(parseMonitorArgs('on')).toEqual({ kind: 'enabled', on: true });
  expect(parseMonitorArgs('OFF')).toEqual({ kind: 'enabled', on: false });
  expect(parseMonitorArgs('window 6')).toEqual({ kind: 'number', key: 'failureWindowHours', value: 6 });
  expect(parseMonitorArgs('Failures  4')).toEqual({ kind: 'number', key: 'minConsecutiveFailures', value: 4 });
  expect(parseMonitorArgs('retention 3650')).toEqual({ kind: 'number', key: 'retentionDays', value: 3650 });
  expect(parseMonitorArgs('downloader YouTube off')).toEqual({ kind: 'downloader', name: 'youtube', on: false });
  expect(parseMonitorArgs('downloader youtube:tab on')).toEqual({ kind: 'downloader', name: 'youtube:tab', on: true });
  expect(parseMonitorArgs('channel Webhook off')).toEqual({ kind: 'channel', channel: 'webhook', on: false });
});

test('numbers outside the limits, or not whole numbers, are refused with the allowed range', () => {
  for (const [word, key] of [
    ['window', 'failureWindowHours'],
    ['failures', 'minConsecutiveFailures'],
    ['retention', 'retentionDays'],
  ] as const) {
    const { min, max } = LIMITS[key];
    for (const bad of [String(min - 1), String(max + 1), '2.5', '-3', '1e2', 'abc', '0x10', '99999999999999999999']) {
      const request = parseMonitorArgs(`${word} ${bad}`);
      expect(request).toEqual({ kind: 'refused', reason: expect.stringContaining(`from ${min} to ${max}`) });
      expect(request).toEqual({ kind: 'refused', reason: expect.stringContaining('Nothing changed.') });
    }
    expect(parseMonitorArgs(word)).toEqual({
      kind: 'refused',
      reason: `Give a whole number from ${min} to ${max}: /monitor ${word} <${word === 'failures' ? 'n' : word === 'window' ? 'hours' : 'days'}>. Nothing changed.`,
    });
    expect(parseMonitorArgs(`${word} ${min}`)).toEqual({ kind: 'number', key, value: min });
    expect(parseMonitorArgs(`${word} ${max}`)).toEqual({ kind: 'number', key, value: max });
  }
  expect(parseMonitorArgs('window 0')).toEqual({
    kind: 'refused',
    reason: '"0" is not allowed: give a whole number from 1 to 720: /monitor window <hours>. Nothing changed.',
  });
});

test('bad names are refused; anything else gets the usage', () => {
  expect(parseMonitorArgs('downloader bad/name off')).toEqual({
    kind: 'refused',
    reason: expect.stringMatching(/^"bad\/name" is not a downloader name/),
  });
  expect(parseMonitorArgs(`downloader ${'a'.repeat(65)} off`)).toEqual({
    kind: 'refused',
    reason: expect.stringContaining('is not a downloader name'),
  });
  expect(parseMonitorArgs('channel sms on')).toEqual({
    kind: 'refused',
    reason: 'There is no channel "sms": the channels are telegram, webhook, pushover. Nothing changed.',
  });
  // An invisible character typed into a name is shown, not hidden.
  expect(parseMonitorArgs('channel tele\u200bgram on')).toEqual({ kind: 'refused', reason: expect.stringContaining('tele<U+200B>gram') });
  for (const text of [
    'help',
    'enable',
    'on now',
    'window 6 hours',
    'downloader youtube',
    'downloader youtube maybe',
    'channel telegram',
    'channel telegram on extra',
    'priority 1',
  ])
    expect([text, parseMonitorArgs(text)]).toEqual([text, { kind: 'usage' }]);
  const usage = usageText();
  for (const form of [
    '/monitor on | off',
    '/monitor window <hours>',
    '/monitor failures <n>',
    '/monitor retention <days>',
    '/monitor downloader <name> on | off',
    '/monitor channel <telegram|webhook|pushover> on | off',
  ])
    expect(usage).toContain(form);
  expect(usage).toContain('(1 to 720)');
});

/** The settings after `text`, as the command would store them. */
function after(before: MonitoringSettings, text: string): MonitoringSettings {
  const request = parseMonitorArgs(text);
  if (request.kind === 'show' || request.kind === 'usage' || request.kind === 'refused') throw new Error(`not a change: ${text}`);
  const result = applyPatch(before, patchOf(request));
  if (!result.ok) throw new Error(result.reason);
  return result.settings;
}

test('every change says what it was and what it is now, or that nothing changed', () => {
  const d = MONITORING_DEFAULTS;
  const say = (text: string, before = d) => {
    const request = parseMonitorArgs(text) as Parameters<typeof changeText>[0];
    return changeText(request, before, after(before, text));
  };
  expect(say('off')).toBe('✅ Alerts: off (was on).');
  expect(say('on')).toBe('Alerts: on, as it already was; nothing changed.');
  expect(say('window 6')).toBe('✅ Failure window: 6 hours (was 3 hours).');
  expect(say('failures 1')).toBe('✅ Alert after: 1 failure in a row (was 2 failures in a row).');
  expect(say('retention 90')).toBe('✅ Attempt history kept: 90 days (was 30 days).');
  expect(say('downloader youtube off')).toBe('✅ Alerts for youtube: off (was on).');
  expect(say('channel pushover off')).toBe('✅ Channel pushover: off (was on).');
  expect(say('downloader youtube on', after(d, 'off'))).toBe(
    'Alerts for youtube: on, as it already was; nothing changed.\nAlerts are off overall; /monitor on turns them on.',
  );
});

const status = (o: Partial<DownloaderStatus> & { downloader: string }): DownloaderStatus => ({
  attempts: 0,
  successes: 0,
  failures: 0,
  bytes: 0,
  successRate: null,
  lastSuccess: null,
  lastAttempt: null,
  failureStreak: 0,
  openIncident: null,
  ...o,
});

test('/monitor shows the settings and each downloader on one line, open incidents first', () => {
  const settings = after(after(MONITORING_DEFAULTS, 'downloader vimeo off'), 'channel webhook off');
  const text = overviewText(
    settings,
    [
      status({ downloader: 'generic', attempts: 3, successes: 3, successRate: 100 }),
      status({ downloader: 'youtube', attempts: 12, successes: 11, failures: 1, successRate: 91.7 }),
      status({
        downloader: 'vimeo',
        attempts: 4,
        failures: 4,
        successRate: 0,
        failureStreak: 4,
        openIncident: { id: 1, openedAt: '2026-11-24T10:00:00Z', consecutiveFailures: 2, lastError: 'x', exampleUrl: null },
      }),
    ],
    NOW,
  );
  expect(text).toBe(
    [
      '📈 Monitoring: alerts on',
      'Alert after 2 failures in a row within 3 hours',
      'Attempt history kept 30 days',
      'Channels: telegram on, webhook off, pushover on',
      'Downloaders off: vimeo',
      '',
      'Last 24 h:',
      '🔴 vimeo: 4 attempts, 0% ok, 4 failing in a row, 🚨 incident open since 2 hours ago',
      '🟢 youtube: 12 attempts, 91.7% ok, no failure streak',
      '🟢 generic: 3 attempts, 100% ok, no failure streak',
      '',
      'Change: /monitor on|off, window, failures, retention, downloader, channel (/monitor help)',
    ].join('\n'),
  );
  expect(overviewText(MONITORING_DEFAULTS, [], NOW)).toContain('Last 24 h:\nno download attempts\n');
  expect(healthLine(status({ downloader: 'tiktok', failureStreak: 2 }), NOW)).toBe('🟡 tiktok: no attempts, 2 failing in a row');
});

test('a long list of downloaders is cut, and the message stays within Telegram’s limit', () => {
  const many = Array.from({ length: 60 }, (_, i) =>
    status({ downloader: `site${String(i).padStart(2, '0')}`, attempts: 60 - i, successRate: 50 }),
  );
  const text = overviewText(MONITORING_DEFAULTS, many, NOW);
  expect(text).toContain('🟢 site00: 60 attempts');
  expect(text).toContain('🟢 site19: 41 attempts');
  expect(text).not.toContain('site20');
  expect(text).toContain('… and 40 more');
  expect(text.length).toBeLessThanOrEqual(4096);
});
