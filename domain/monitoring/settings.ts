import type { Db } from '../../lib/db';

/**
 * Downloader health monitoring's settings: what admins change at run time, with
 * `/monitor` in the bot or PUT /api/monitoring/settings. Stored as JSON under one
 * key of the `settings` table; anything missing there takes its default, so a
 * new setting needs no migration.
 */
export interface MonitoringSettings {
  /** Off: attempts are still recorded, but no alert is raised or closed. */
  enabled: boolean;
  /** How far back consecutive failures are counted. */
  failureWindowHours: number;
  /** Consecutive failures (within the window) that raise an alert. */
  minConsecutiveFailures: number;
  /** Attempts older than this are deleted by the daily housekeeping schedule. */
  retentionDays: number;
  /** Per downloader (extractor key): false turns its alerts off. Missing: on. */
  downloaders: Record<string, boolean>;
  /** Which alert channels are used; a channel is used only when it is also configured (webhook URL, Pushover keys). */
  channels: { telegram: boolean; webhook: boolean; pushover: boolean };
  /** Pushover's priority for alerts (-2 to 1; 2 needs acknowledgement and is not offered). */
  pushoverPriority: number;
}

export const MONITORING_DEFAULTS: MonitoringSettings = {
  enabled: true,
  failureWindowHours: 3,
  minConsecutiveFailures: 2,
  retentionDays: 30,
  downloaders: {},
  channels: { telegram: true, webhook: true, pushover: true },
  pushoverPriority: 1,
};

export const SETTINGS_KEY = 'monitoring';
export const CHANNELS = ['telegram', 'webhook', 'pushover'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Limits of each number, shared by the API's schema, the bot's command and `applyPatch`. */
export const LIMITS = {
  failureWindowHours: { min: 1, max: 24 * 30 },
  minConsecutiveFailures: { min: 1, max: 1000 },
  retentionDays: { min: 1, max: 3650 },
  pushoverPriority: { min: -2, max: 1 },
} as const;

/** A downloader's name: yt-dlp's extractor keys in lower case, and our sources' names. */
export const DOWNLOADER_NAME = /^[a-z0-9][a-z0-9_:.-]{0,63}$/;

/** A change to the settings; every field optional. `downloaders` entries merge into the stored ones. */
export type SettingsPatch = Partial<Omit<MonitoringSettings, 'channels' | 'downloaders'>> & {
  downloaders?: Record<string, boolean>;
  channels?: Partial<MonitoringSettings['channels']>;
};

/** The stored settings with every missing or unusable value at its default. */
export function withDefaults(stored: unknown): MonitoringSettings {
  const value = isObject(stored) ? stored : {};
  const number = (key: keyof typeof LIMITS): number => {
    const v = value[key];
    const { min, max } = LIMITS[key];
    return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : MONITORING_DEFAULTS[key];
  };
  const downloaders = isObject(value.downloaders)
    ? Object.fromEntries(
        Object.entries(value.downloaders).filter(([name, on]) => DOWNLOADER_NAME.test(name) && typeof on === 'boolean') as [
          string,
          boolean,
        ][],
      )
    : {};
  const channels = isObject(value.channels) ? value.channels : {};
  return {
    enabled: typeof value.enabled === 'boolean' ? value.enabled : MONITORING_DEFAULTS.enabled,
    failureWindowHours: number('failureWindowHours'),
    minConsecutiveFailures: number('minConsecutiveFailures'),
    retentionDays: number('retentionDays'),
    pushoverPriority: number('pushoverPriority'),
    downloaders,
    channels: Object.fromEntries(
      CHANNELS.map((c) => [c, typeof channels[c] === 'boolean' ? channels[c] : MONITORING_DEFAULTS.channels[c]]),
    ) as MonitoringSettings['channels'],
  };
}

/** `patch` applied to `current`, or the reason it cannot be (nothing is applied then). */
export function applyPatch(
  current: MonitoringSettings,
  patch: unknown,
): { ok: true; settings: MonitoringSettings } | { ok: false; reason: string } {
  if (!isObject(patch)) return { ok: false, reason: 'the settings must be a JSON object' };
  const known = new Set(['enabled', 'downloaders', 'channels', ...Object.keys(LIMITS)]);
  const unknown = Object.keys(patch).filter((k) => !known.has(k));
  if (unknown.length > 0) return { ok: false, reason: `unknown settings: ${unknown.join(', ')}` };
  const next: MonitoringSettings = { ...current, downloaders: { ...current.downloaders }, channels: { ...current.channels } };
  if ('enabled' in patch) {
    if (typeof patch.enabled !== 'boolean') return { ok: false, reason: 'enabled must be true or false' };
    next.enabled = patch.enabled;
  }
  for (const key of Object.keys(LIMITS) as (keyof typeof LIMITS)[]) {
    if (!(key in patch)) continue;
    const v = patch[key];
    const { min, max } = LIMITS[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
      return { ok: false, reason: `${key} must be a whole number from ${min} to ${max}` };
    next[key] = v;
  }
  if ('downloaders' in patch) {
    if (!isObject(patch.downloaders)) return { ok: false, reason: 'downloaders must be an object of name: true or false' };
    for (const [name, on] of Object.entries(patch.downloaders)) {
      if (!DOWNLOADER_NAME.test(name)) return { ok: false, reason: `"${name.slice(0, 64)}" is not a downloader name` };
      if (typeof on !== 'boolean') return { ok: false, reason: `downloaders.${name} must be true or false` };
      next.downloaders[name] = on;
    }
  }
  if ('channels' in patch) {
    if (!isObject(patch.channels)) return { ok: false, reason: 'channels must be an object of channel: true or false' };
    for (const [name, on] of Object.entries(patch.channels)) {
      if (!(CHANNELS as readonly string[]).includes(name))
        return { ok: false, reason: `unknown channel "${name.slice(0, 64)}" (${CHANNELS.join(', ')})` };
      if (typeof on !== 'boolean') return { ok: false, reason: `channels.${name} must be true or false` };
      next.channels[name as Channel] = on;
    }
  }
  return { ok: true, settings: next };
}

/** Whether alerts are raised for `downloader` under `settings`. */
export function watched(settings: MonitoringSettings, downloader: string): boolean {
  return settings.enabled && settings.downloaders[downloader] !== false;
}

export async function loadSettings(db: Db): Promise<MonitoringSettings> {
  const row = await db.setting.findUnique({ where: { key: SETTINGS_KEY } });
  return withDefaults(row?.value);
}

/** Applies `patch` and stores the result; changes nothing when the patch is refused. */
export async function updateSettings(
  db: Db,
  patch: unknown,
): Promise<{ ok: true; settings: MonitoringSettings } | { ok: false; reason: string }> {
  // Read, change and write under a lock, so two admins changing different settings at once keep both.
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`settings:${SETTINGS_KEY}`}))`;
    const row = await tx.setting.findUnique({ where: { key: SETTINGS_KEY } });
    const result = applyPatch(withDefaults(row?.value), patch);
    if (!result.ok) return result;
    const value = JSON.parse(JSON.stringify(result.settings)) as object;
    await tx.setting.upsert({ where: { key: SETTINGS_KEY }, create: { key: SETTINGS_KEY, value }, update: { value } });
    return result;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
