import type { Channel } from './settings';

/**
 * An alert as every channel sends it: a title and a body for people, and the
 * facts for machines (the webhook posts them as JSON). Built once when the
 * incident opens or closes, so a retried delivery says the same thing.
 */
export interface Alert {
  kind: 'raised' | 'recovered';
  incidentId: number;
  downloader: string;
  title: string;
  text: string;
  /** When the incident opened or closed (ISO). */
  at: string;
  consecutiveFailures?: number;
  lastSuccessAt?: string | null;
  latestError?: string | null;
  exampleUrl?: string | null;
  openedAt?: string;
  /** Pushover's priority for a raised alert (from the settings). */
  pushoverPriority?: number;
}

/** The workflow that delivers one alert: one per incident and kind, so a second start is refused. */
export const alertWorkflowId = (incidentId: number, kind: Alert['kind']): string => `monitor-alert-${incidentId}-${kind}`;

export interface AlertDelivery {
  alert: Alert;
  channels: Channel[];
}

/** "3 hours ago", "2 days ago", "just now". */
export function relativeTime(then: Date, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - then.getTime()) / 1000));
  const units: [number, string][] = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'} ago`;
  }
  return 'just now';
}

export function raisedAlert(
  o: {
    incidentId: number;
    downloader: string;
    consecutiveFailures: number;
    failedDownloads: number;
    lastSuccessAt: Date | null;
    latestError: string | null;
    exampleUrl: string | null;
    failureWindowHours: number;
  },
  now: Date,
): Alert {
  const lastSuccess = o.lastSuccessAt ? relativeTime(o.lastSuccessAt, now) : 'never (none recorded)';
  const downloads = `${o.failedDownloads} download${o.failedDownloads === 1 ? '' : 's'}`;
  const lines = [
    `Downloader "${o.downloader}" is failing: ${o.consecutiveFailures} failed attempts of ${downloads} in a row within ${o.failureWindowHours} h.`,
    `Last success: ${lastSuccess}`,
    `Latest error: ${o.latestError ?? '(none recorded)'}`,
    ...(o.exampleUrl ? [`Example link: ${o.exampleUrl}`] : []),
    'No other alert for it until it succeeds again. Details: the dashboard, or GET /api/monitoring/status.',
  ];
  return {
    kind: 'raised',
    incidentId: o.incidentId,
    downloader: o.downloader,
    title: `🚨 ${o.downloader} failing`,
    text: lines.join('\n'),
    at: now.toISOString(),
    consecutiveFailures: o.consecutiveFailures,
    lastSuccessAt: o.lastSuccessAt?.toISOString() ?? null,
    latestError: o.latestError,
    exampleUrl: o.exampleUrl,
  };
}

export function recoveredAlert(o: { incidentId: number; downloader: string; openedAt: Date }, now: Date): Alert {
  return {
    kind: 'recovered',
    incidentId: o.incidentId,
    downloader: o.downloader,
    title: `✅ ${o.downloader} recovered`,
    text: `Downloader "${o.downloader}" works again: a download just succeeded. The alert was raised ${relativeTime(o.openedAt, now)}.`,
    at: now.toISOString(),
    openedAt: o.openedAt.toISOString(),
  };
}
