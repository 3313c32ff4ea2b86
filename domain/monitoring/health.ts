import { randomUUID } from 'node:crypto';
import type { Db } from '../../lib/db';
import type { Prisma } from '../../lib/generated/prisma/client';
import { counts, type AttemptRecord } from './attempts';
import { watched, type MonitoringSettings } from './settings';

/** What changed in a downloader's health after its newest attempts were recorded. */
export type IncidentChange =
  | { kind: 'raised'; incidentId: number; downloader: string; consecutiveFailures: number; failedDownloads: number }
  /** `notify` false: alerts for it were off, so nobody is told. */
  | { kind: 'recovered'; incidentId: number; downloader: string; notify: boolean };

type Tx = Prisma.TransactionClient;

/** Stores attempts; one already stored (same ID) is skipped, so a batch can be written again after a failure. */
export async function storeAttempts(db: Db, attempts: AttemptRecord[]): Promise<void> {
  if (attempts.length === 0) return;
  await db.downloadAttempt.createMany({
    data: attempts.map((a) => ({
      id: a.id,
      contentKey: a.contentKey,
      workflowId: a.workflowId,
      attempt: a.attempt,
      source: a.source,
      downloader: a.downloader,
      platform: a.platform,
      url: a.url,
      requestedBy: a.requestedBy === null ? null : BigInt(a.requestedBy),
      startedAt: new Date(a.startedAt),
      finishedAt: new Date(a.finishedAt),
      success: a.success,
      bytes: a.bytes === null ? null : BigInt(a.bytes),
      errorKind: a.errorKind,
      error: a.error,
      counts: counts(a),
    })),
    skipDuplicates: true,
  });
}

/**
 * Decides whether `downloader`'s newest attempts open or close an incident:
 * counted failures of `minConsecutiveFailures` different downloads in a row
 * (one dead link retried five times is one), all within the failure window,
 * open one unless one is open; a success closes the open one (silently while
 * its alerts are off). Decided under a lock per downloader, so two workers
 * judging at once see each other's attempts and raise or close it once.
 */
export async function evaluate(db: Db, downloader: string, settings: MonitoringSettings, now = new Date()): Promise<IncidentChange | null> {
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${`monitor:${downloader}`}))`;
    return decide(tx, downloader, settings, now);
  });
}

async function decide(tx: Tx, downloader: string, settings: MonitoringSettings, now: Date): Promise<IncidentChange | null> {
  const latest = await tx.downloadAttempt.findFirst({
    where: { downloader, counts: true },
    orderBy: [{ finishedAt: 'desc' }, { createdAt: 'desc' }],
  });
  if (!latest) return null;
  const open = await tx.monitorIncident.findUnique({ where: { openFor: downloader } });
  if (latest.success) {
    if (!open) return null;
    const notify = watched(settings, downloader);
    await tx.monitorIncident.update({
      where: { id: open.id },
      // Alerts off: nobody is told, and nothing is left for the outbox to send.
      data: { openFor: null, closedAt: now, closedBy: 'recovered', ...(notify ? {} : { recoveryQueuedAt: now }) },
    });
    await tx.downloadAttempt.update({ where: { id: latest.id }, data: { alert: 'recovered' } });
    return { kind: 'recovered', incidentId: open.id, downloader, notify };
  }
  if (open || !watched(settings, downloader)) return null;
  const lastSuccess = await tx.downloadAttempt.findFirst({
    where: { downloader, success: true },
    orderBy: { finishedAt: 'desc' },
    select: { finishedAt: true },
  });
  const windowStart = new Date(now.getTime() - settings.failureWindowHours * 3_600_000);
  const since = lastSuccess && lastSuccess.finishedAt > windowStart ? lastSuccess.finishedAt : windowStart;
  const [streak] = await tx.$queryRaw<{ attempts: bigint; downloads: bigint }[]>`
    SELECT count(*) AS attempts, count(DISTINCT content_key) AS downloads
      FROM download_attempts
     WHERE downloader = ${downloader} AND counts AND NOT success AND finished_at > ${since}`;
  const failedDownloads = Number(streak?.downloads ?? 0);
  if (failedDownloads < settings.minConsecutiveFailures) return null;
  const incident = await tx.monitorIncident.create({
    data: {
      downloader,
      openFor: downloader,
      consecutiveFailures: Number(streak?.attempts ?? 0),
      failedDownloads,
      lastError: latest.error,
      exampleUrl: latest.url,
      openedAt: now,
    },
  });
  await tx.downloadAttempt.update({ where: { id: latest.id }, data: { alert: 'raised' } });
  return { kind: 'raised', incidentId: incident.id, downloader, consecutiveFailures: incident.consecutiveFailures, failedDownloads };
}

/** An incident whose alert or recovery message has not been handed to Temporal yet. */
export interface PendingAlert {
  kind: 'raised' | 'recovered';
  incidentId: number;
  downloader: string;
  consecutiveFailures: number;
  failedDownloads: number;
  lastError: string | null;
  exampleUrl: string | null;
  openedAt: Date;
  closedAt: Date | null;
  /** The downloader's last success before the incident opened. */
  lastSuccessAt: Date | null;
}

/** Alerts and recovery messages decided but not yet handed over for delivery, oldest first (raised before recovered). */
export async function pendingAlerts(db: Db, limit = 50): Promise<PendingAlert[]> {
  const rows = await db.monitorIncident.findMany({
    where: { OR: [{ alertQueuedAt: null }, { closedBy: 'recovered', recoveryQueuedAt: null }] },
    orderBy: { id: 'asc' },
    take: limit,
  });
  const pending: PendingAlert[] = [];
  for (const row of rows) {
    const lastSuccess = await db.downloadAttempt.findFirst({
      where: { downloader: row.downloader, success: true, finishedAt: { lt: row.openedAt } },
      orderBy: { finishedAt: 'desc' },
      select: { finishedAt: true },
    });
    const base = {
      incidentId: row.id,
      downloader: row.downloader,
      consecutiveFailures: row.consecutiveFailures,
      failedDownloads: row.failedDownloads,
      lastError: row.lastError,
      exampleUrl: row.exampleUrl,
      openedAt: row.openedAt,
      closedAt: row.closedAt,
      lastSuccessAt: lastSuccess?.finishedAt ?? null,
    };
    if (row.alertQueuedAt === null) pending.push({ kind: 'raised', ...base });
    if (row.closedBy === 'recovered' && row.recoveryQueuedAt === null) pending.push({ kind: 'recovered', ...base });
  }
  return pending;
}

/** Marks an alert as handed over (its delivery workflow started, or there was no channel to send it on). */
export async function markQueued(db: Db, incidentId: number, kind: 'raised' | 'recovered', at = new Date()): Promise<void> {
  await db.monitorIncident.update({
    where: { id: incidentId },
    data: kind === 'raised' ? { alertQueuedAt: at } : { recoveryQueuedAt: at },
  });
}

/**
 * Closes incidents whose downloader has not been tried within the failure
 * window: nobody is using it, so nothing tells whether it recovered (a new
 * failure streak raises a new one). Answers how many were closed.
 */
export async function closeStaleIncidents(db: Db, settings: MonitoringSettings, now = new Date()): Promise<number> {
  const windowStart = new Date(now.getTime() - settings.failureWindowHours * 3_600_000);
  const open = await db.monitorIncident.findMany({ where: { openFor: { not: null } } });
  let closed = 0;
  for (const incident of open) {
    const recent = await db.downloadAttempt.count({ where: { downloader: incident.downloader, finishedAt: { gte: windowStart } } });
    if (recent > 0) continue;
    const done = await db.monitorIncident.updateMany({
      where: { id: incident.id, openFor: incident.downloader },
      data: { openFor: null, closedAt: now, closedBy: 'expired' },
    });
    closed += done.count;
  }
  return closed;
}

/** Deletes attempts that ended more than `days` days ago; answers how many. */
export async function deleteAttemptsOlderThan(db: Db, days: number, now = new Date()): Promise<number> {
  const { count } = await db.downloadAttempt.deleteMany({ where: { finishedAt: { lt: new Date(now.getTime() - days * 86_400_000) } } });
  return count;
}

export interface DownloaderStatus {
  downloader: string;
  attempts: number;
  successes: number;
  failures: number;
  bytes: number;
  /** Percent of attempts in the period that succeeded, one decimal. */
  successRate: number | null;
  lastSuccess: string | null;
  lastAttempt: string | null;
  /** Counted failures since its last success (ever). */
  failureStreak: number;
  openIncident: { id: number; openedAt: string; consecutiveFailures: number; lastError: string | null; exampleUrl: string | null } | null;
}

/** Per downloader tried within the last `hours` (or with an open incident): the figures the status endpoint and the dashboard show. */
export async function downloaderStatus(db: Db, hours: number, now = new Date()): Promise<DownloaderStatus[]> {
  const since = new Date(now.getTime() - hours * 3_600_000);
  const rows = await db.$queryRaw<
    {
      downloader: string;
      attempts: bigint;
      successes: bigint;
      failures: bigint;
      bytes: bigint | null;
      last_attempt: Date | null;
    }[]
  >`
    SELECT downloader,
           count(*) AS attempts,
           count(*) FILTER (WHERE success) AS successes,
           count(*) FILTER (WHERE NOT success) AS failures,
           sum(bytes) FILTER (WHERE success) AS bytes,
           max(finished_at) AS last_attempt
      FROM download_attempts
     WHERE finished_at >= ${since}
     GROUP BY downloader`;
  const incidents = await db.monitorIncident.findMany({ where: { openFor: { not: null } } });
  const names = [...new Set([...rows.map((r) => r.downloader), ...incidents.map((i) => i.downloader)])].sort();
  // Each downloader's last success and last attempt of all time, and the failures
  // that count since that success: one query for all of them (the index on
  // downloader, finished_at serves each lookup).
  const recent = names.length
    ? await db.$queryRaw<{ downloader: string; last_success: Date | null; last_attempt: Date | null; streak: bigint }[]>`
        SELECT n.downloader,
               ok.at AS last_success,
               (SELECT max(finished_at) FROM download_attempts d WHERE d.downloader = n.downloader) AS last_attempt,
               (SELECT count(*) FROM download_attempts d
                 WHERE d.downloader = n.downloader AND d.counts AND NOT d.success
                   AND (ok.at IS NULL OR d.finished_at > ok.at)) AS streak
          FROM unnest(${names}::text[]) AS n(downloader)
          LEFT JOIN LATERAL (SELECT max(finished_at) AS at FROM download_attempts d
                              WHERE d.downloader = n.downloader AND d.success) ok ON true`
    : [];
  return names.map((downloader) => {
    const row = rows.find((r) => r.downloader === downloader);
    const seen = recent.find((r) => r.downloader === downloader);
    const lastSuccess = seen?.last_success ?? null;
    const lastAttempt = row?.last_attempt ?? seen?.last_attempt ?? null;
    const failureStreak = Number(seen?.streak ?? 0);
    const incident = incidents.find((i) => i.downloader === downloader);
    const attempts = Number(row?.attempts ?? 0);
    const successes = Number(row?.successes ?? 0);
    return {
      downloader,
      attempts,
      successes,
      failures: Number(row?.failures ?? 0),
      bytes: Number(row?.bytes ?? 0),
      successRate: attempts > 0 ? Math.round((successes / attempts) * 1000) / 10 : null,
      lastSuccess: lastSuccess?.toISOString() ?? null,
      lastAttempt: lastAttempt?.toISOString() ?? null,
      failureStreak,
      openIncident: incident
        ? {
            id: incident.id,
            openedAt: incident.openedAt.toISOString(),
            consecutiveFailures: incident.consecutiveFailures,
            lastError: incident.lastError,
            exampleUrl: incident.exampleUrl,
          }
        : null,
    };
  });
}

export interface AttemptView {
  id: string;
  downloader: string;
  source: string | null;
  platform: string;
  url: string;
  contentKey: string;
  workflowId: string;
  attempt: number;
  requestedBy: string | null;
  startedAt: string;
  finishedAt: string;
  success: boolean;
  bytes: number | null;
  errorKind: string | null;
  error: string | null;
  counts: boolean;
  alert: string | null;
}

/** A page of attempts, newest first; `next` continues after the last one. */
export async function attemptHistory(
  db: Db,
  o: { downloader?: string; limit: number; before?: Cursor; failuresOnly?: boolean },
): Promise<{ attempts: AttemptView[]; next: string | null }> {
  const rows = await db.downloadAttempt.findMany({
    where: {
      ...(o.downloader ? { downloader: o.downloader } : {}),
      ...(o.failuresOnly ? { success: false } : {}),
      ...(o.before
        ? {
            OR: [
              { finishedAt: { lt: o.before.finishedAt } },
              ...(o.before.id ? [{ finishedAt: o.before.finishedAt, id: { lt: o.before.id } }] : []),
            ],
          }
        : {}),
    },
    orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }],
    take: o.limit + 1,
  });
  const page = rows.slice(0, o.limit);
  const last = page.at(-1);
  return {
    attempts: page.map((r) => ({
      id: r.id,
      downloader: r.downloader,
      source: r.source,
      platform: r.platform,
      url: r.url,
      contentKey: r.contentKey,
      workflowId: r.workflowId,
      attempt: r.attempt,
      requestedBy: r.requestedBy === null ? null : r.requestedBy.toString(),
      startedAt: r.startedAt.toISOString(),
      finishedAt: r.finishedAt.toISOString(),
      success: r.success,
      bytes: r.bytes === null ? null : Number(r.bytes),
      errorKind: r.errorKind,
      error: r.error,
      counts: r.counts,
      alert: r.alert,
    })),
    next: rows.length > o.limit && last ? encodeCursor({ finishedAt: last.finishedAt, id: last.id }) : null,
  };
}

/** Where a page of history starts: before this end time (and, at that same time, before this ID). */
export interface Cursor {
  finishedAt: Date;
  id?: string;
}

export function encodeCursor(c: Cursor): string {
  return `${c.finishedAt.toISOString()}_${c.id ?? ''}`;
}

/** A cursor from `next`, or a plain ISO time; null when it is neither. */
export function decodeCursor(text: string): Cursor | null {
  const [time, id] = text.split('_');
  const finishedAt = new Date(time ?? '');
  if (!time || Number.isNaN(finishedAt.getTime())) return null;
  if (id && !/^[0-9a-f-]{36}$/.test(id)) return null;
  return { finishedAt, ...(id ? { id } : {}) };
}

export interface SeriesPoint {
  /** Start of the bucket. */
  at: string;
  attempts: number;
  successes: number;
}

/** Attempts and successes per downloader in buckets of an hour (`bucket: 'hour'`) or a day, over the last `hours`. */
export async function attemptSeries(
  db: Db,
  hours: number,
  bucket: 'hour' | 'day',
  now = new Date(),
): Promise<Record<string, SeriesPoint[]>> {
  const since = new Date(now.getTime() - hours * 3_600_000);
  const rows = await db.$queryRaw<{ downloader: string; at: Date; attempts: bigint; successes: bigint }[]>`
    SELECT downloader, date_trunc(${bucket}::text, finished_at) AS at,
           count(*) AS attempts, count(*) FILTER (WHERE success) AS successes
      FROM download_attempts
     WHERE finished_at >= ${since}
     GROUP BY 1, 2
     ORDER BY 2`;
  const series: Record<string, SeriesPoint[]> = {};
  for (const r of rows)
    (series[r.downloader] ??= []).push({ at: r.at.toISOString(), attempts: Number(r.attempts), successes: Number(r.successes) });
  return series;
}

/** A new attempt ID. */
export const newAttemptId = (): string => randomUUID();
