import { Composer } from 'grammy';
import { relativeTime } from '../../domain/monitoring/alerts';
import { downloaderStatus, type DownloaderStatus } from '../../domain/monitoring/health';
import {
  CHANNELS,
  DOWNLOADER_NAME,
  LIMITS,
  loadSettings,
  updateSettings,
  type Channel,
  type MonitoringSettings,
  type SettingsPatch,
} from '../../domain/monitoring/settings';
import { fitMessage } from '../../domain/downloads/messages';
import type { Db } from '../../lib/db';
import { escapeInvisible, truncate } from '../../lib/text';
import { actorOf, type BotContext } from '../context';

/**
 * /monitor: downloader health monitoring from the bot (admins). Without
 * arguments it shows the settings and the last 24 hours per downloader; with
 * one of the forms below it changes one setting and says what changed. A bad
 * value is refused with the allowed range, and nothing is stored.
 */
export const monitorFeature = new Composer<BotContext>();

/** What the bot reads and changes of the monitoring (the database in production). */
export interface MonitoringService {
  load(): Promise<MonitoringSettings>;
  update(patch: SettingsPatch): ReturnType<typeof updateSettings>;
  status(hours: number): Promise<DownloaderStatus[]>;
}

export function monitoringService(db: Db): MonitoringService {
  return {
    load: () => loadSettings(db),
    update: (patch) => updateSettings(db, patch),
    status: (hours) => downloaderStatus(db, hours),
  };
}

/** The period /monitor summarises. */
const HEALTH_HOURS = 24;
/** Downloaders listed in the summary at most (a message must stay readable, and under 4096 characters). */
const MAX_LISTED = 20;

type NumberSetting = 'failureWindowHours' | 'minConsecutiveFailures' | 'retentionDays';

/** The words of the number forms, what they set and how their value is named. */
const NUMBER_FORMS: Record<string, { key: NumberSetting; unit: string }> = {
  window: { key: 'failureWindowHours', unit: 'hours' },
  failures: { key: 'minConsecutiveFailures', unit: 'n' },
  retention: { key: 'retentionDays', unit: 'days' },
};

/** What `/monitor <args>` asks for. */
export type MonitorRequest =
  | { kind: 'show' }
  | { kind: 'usage' }
  /** A recognised form with a bad value: the reason, naming what is allowed. */
  | { kind: 'refused'; reason: string }
  | { kind: 'enabled'; on: boolean }
  | { kind: 'number'; key: NumberSetting; value: number }
  | { kind: 'downloader'; name: string; on: boolean }
  | { kind: 'channel'; channel: Channel; on: boolean };

const range = (key: NumberSetting) => `${LIMITS[key].min} to ${LIMITS[key].max}`;
const onOff = (word: string | undefined): boolean | null => (word === 'on' ? true : word === 'off' ? false : null);

/** Reads the arguments of /monitor (case does not matter, except that downloader names are lower case). */
export function parseMonitorArgs(text: string): MonitorRequest {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const [first, second, third, ...rest] = words;
  if (first === undefined) return { kind: 'show' };
  if (words.length === 1 && onOff(first) !== null) return { kind: 'enabled', on: onOff(first)! };
  const form = Object.hasOwn(NUMBER_FORMS, first) ? NUMBER_FORMS[first]! : undefined;
  if (form) {
    if (third !== undefined) return { kind: 'usage' };
    const { min, max } = LIMITS[form.key];
    const value = second !== undefined && /^\d{1,10}$/.test(second) ? Number(second) : NaN;
    if (!(value >= min && value <= max))
      return {
        kind: 'refused',
        reason: `${second === undefined ? 'Give' : `"${shown(second)}" is not allowed: give`} a whole number from ${range(form.key)}: /monitor ${first} <${form.unit}>. Nothing changed.`,
      };
    return { kind: 'number', key: form.key, value };
  }
  if (first === 'downloader' || first === 'channel') {
    const on = onOff(third);
    if (second === undefined || on === null || rest.length > 0) return { kind: 'usage' };
    if (first === 'downloader') {
      if (!DOWNLOADER_NAME.test(second))
        return {
          kind: 'refused',
          reason: `"${shown(second)}" is not a downloader name: up to 64 letters, digits and _ : . - (as /monitor lists them). Nothing changed.`,
        };
      return { kind: 'downloader', name: second, on };
    }
    if (!(CHANNELS as readonly string[]).includes(second))
      return {
        kind: 'refused',
        reason: `There is no channel "${shown(second)}": the channels are ${CHANNELS.join(', ')}. Nothing changed.`,
      };
    return { kind: 'channel', channel: second as Channel, on };
  }
  return { kind: 'usage' };
}

/** Something a person typed, echoed safely and briefly. */
function shown(word: string): string {
  return truncate(escapeInvisible(word), 40);
}

export function usageText(): string {
  return [
    'Usage:',
    '/monitor - the settings and the last 24 h per downloader',
    '/monitor on | off - alerts on or off',
    `/monitor window <hours> - count failures within this many hours (${range('failureWindowHours')})`,
    `/monitor failures <n> - failures in a row that raise an alert (${range('minConsecutiveFailures')})`,
    `/monitor retention <days> - keep the attempt history this many days (${range('retentionDays')})`,
    '/monitor downloader <name> on | off - alerts for one downloader',
    `/monitor channel <${CHANNELS.join('|')}> on | off - an alert channel`,
  ].join('\n');
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const state = (on: boolean) => (on ? 'on' : 'off');

/** A number setting as a phrase: "3 hours", "2 failures in a row", "30 days". */
function describeNumber(key: NumberSetting, value: number): string {
  if (key === 'failureWindowHours') return plural(value, 'hour');
  if (key === 'minConsecutiveFailures') return `${plural(value, 'failure')} in a row`;
  return plural(value, 'day');
}

const NUMBER_NAMES: Record<NumberSetting, string> = {
  failureWindowHours: 'Failure window',
  minConsecutiveFailures: 'Alert after',
  retentionDays: 'Attempt history kept',
};

/** The patch a change request stores. */
export function patchOf(request: Exclude<MonitorRequest, { kind: 'show' | 'usage' | 'refused' }>): SettingsPatch {
  switch (request.kind) {
    case 'enabled':
      return { enabled: request.on };
    case 'number':
      return { [request.key]: request.value };
    case 'downloader':
      return { downloaders: { [request.name]: request.on } };
    case 'channel':
      return { channels: { [request.channel]: request.on } };
  }
}

/** What a change did, from the settings before and after: "✅ Failure window: 6 hours (was 3 hours)." */
export function changeText(
  request: Exclude<MonitorRequest, { kind: 'show' | 'usage' | 'refused' }>,
  before: MonitoringSettings,
  after: MonitoringSettings,
): string {
  let what: string;
  let was: string;
  let now: string;
  switch (request.kind) {
    case 'enabled':
      [what, was, now] = ['Alerts', state(before.enabled), state(after.enabled)];
      break;
    case 'number':
      [what, was, now] = [
        NUMBER_NAMES[request.key],
        describeNumber(request.key, before[request.key]),
        describeNumber(request.key, after[request.key]),
      ];
      break;
    case 'downloader':
      [what, was, now] = [
        `Alerts for ${request.name}`,
        state(before.downloaders[request.name] !== false),
        state(after.downloaders[request.name] !== false),
      ];
      break;
    case 'channel':
      [what, was, now] = [`Channel ${request.channel}`, state(before.channels[request.channel]), state(after.channels[request.channel])];
      break;
  }
  const text = was === now ? `${what}: ${now}, as it already was; nothing changed.` : `✅ ${what}: ${now} (was ${was}).`;
  // Turning one downloader or channel on does nothing while alerts are off overall: say so.
  const offOverall = !after.enabled && request.kind !== 'enabled' ? '\nAlerts are off overall; /monitor on turns them on.' : '';
  return text + offOverall;
}

/** One downloader's last 24 hours: "youtube: 12 attempts, 91.7% ok, 0 failing in a row". */
export function healthLine(s: DownloaderStatus, now: Date): string {
  const parts = [
    s.attempts > 0 ? `${plural(s.attempts, 'attempt')}, ${s.successRate ?? 0}% ok` : 'no attempts',
    s.failureStreak > 0 ? `${s.failureStreak} failing in a row` : 'no failure streak',
  ];
  if (s.openIncident) parts.push(`🚨 incident open since ${relativeTime(new Date(s.openIncident.openedAt), now)}`);
  return `${s.openIncident ? '🔴' : s.failureStreak > 0 ? '🟡' : '🟢'} ${truncate(escapeInvisible(s.downloader), 64)}: ${parts.join(', ')}`;
}

/** What /monitor shows: the settings, then the last 24 hours per downloader (open incidents first). */
export function overviewText(settings: MonitoringSettings, health: DownloaderStatus[], now: Date): string {
  const off = Object.entries(settings.downloaders)
    .filter(([, on]) => !on)
    .map(([name]) => name)
    .sort();
  const lines = [
    `📈 Monitoring: alerts ${state(settings.enabled)}`,
    `Alert after ${describeNumber('minConsecutiveFailures', settings.minConsecutiveFailures)} within ${plural(settings.failureWindowHours, 'hour')}`,
    `Attempt history kept ${plural(settings.retentionDays, 'day')}`,
    `Channels: ${CHANNELS.map((c) => `${c} ${state(settings.channels[c])}`).join(', ')}`,
    `Downloaders off: ${off.length > 0 ? off.join(', ') : 'none'}`,
    '',
    `Last ${HEALTH_HOURS} h:`,
  ];
  const ordered = [...health].sort(
    (a, b) =>
      Number(b.openIncident !== null) - Number(a.openIncident !== null) ||
      b.attempts - a.attempts ||
      a.downloader.localeCompare(b.downloader),
  );
  if (ordered.length === 0) lines.push('no download attempts');
  for (const s of ordered.slice(0, MAX_LISTED)) lines.push(healthLine(s, now));
  if (ordered.length > MAX_LISTED) lines.push(`… and ${ordered.length - MAX_LISTED} more (the dashboard lists them all)`);
  lines.push('', 'Change: /monitor on|off, window, failures, retention, downloader, channel (/monitor help)');
  return fitMessage(lines.join('\n'));
}

monitorFeature.command('monitor', async (ctx) => {
  const request = parseMonitorArgs(ctx.match);
  const { monitoring } = ctx.deps;
  if (request.kind === 'usage') return void (await ctx.reply(usageText()));
  if (request.kind === 'refused') return void (await ctx.reply(request.reason));
  if (request.kind === 'show') {
    const [settings, health] = await Promise.all([monitoring.load(), monitoring.status(HEALTH_HOURS)]);
    return void (await ctx.reply(overviewText(settings, health, new Date())));
  }
  const before = await monitoring.load();
  const patch = patchOf(request);
  const result = await monitoring.update(patch);
  if (!result.ok) return void (await ctx.reply(`Could not change the monitoring settings: ${result.reason}. Nothing changed.`));
  ctx.log.info({ patch, by: actorOf(ctx).id }, 'monitoring settings changed');
  await ctx.reply(changeText(request, before, result.settings));
});
