import os from 'node:os';
import type { Client } from '@temporalio/client';
import { queueLinks, type IntakeDeps } from '../bot/queue-links';
import { intakeReplyText } from '../bot/replies';
import type { DownloadsClient, DownloadView } from '../domain/downloads/client';
import {
  downloadWorkflowId,
  shortId,
  subscribeSignal,
  type Actor,
  type DownloadOutcome,
  type Subscriber,
} from '../domain/downloads/definitions';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { EXIT, OpsFailure, parseCount, parseDuration, UsageError, type CommandSpec } from './cli';

/** What every ops command may use; connections are opened on first use. */
export interface OpsContext {
  db: Db;
  temporal: Client;
  downloads: DownloadsClient;
  /** Intake, as the bot does it (`download`). */
  intake: Omit<IntakeDeps, 'downloads'>;
  logger: Logger;
  /** The Temporal Web UI's page of a workflow. */
  uiUrl(workflowId: string): string;
  /** Tells a Telegram chat something (replay notices); null when no bot token is configured. */
  tell: ((chatId: number, replyTo: number, text: string) => Promise<void>) | null;
  /** Who the operator is, as replies and histories name them. */
  actor: Actor;
}

/** The operator, as pause/resume/cancel record them ("ops:alice"). */
export function operator(): Actor {
  const user = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return 'unknown';
    }
  })();
  return { id: `ops:${user}`, name: `operator ${user} (ops CLI)` };
}

/** A refusal of the downloads client as an exit: not found → 3, anything else → 1. */
function refused(r: { reason: string; message: string }): never {
  throw new OpsFailure(r.message, r.reason === 'not_found' ? EXIT.notFound : r.reason === 'unavailable' ? EXIT.unavailable : EXIT.failed);
}

interface FailedRow {
  contentKey: string;
  shortId: string;
  url: string;
  platform: string;
  downloader: string | null;
  errorKind: string | null;
  attempts: number;
  error: string | null;
  finishedAt: Date | null;
  ui: string;
}

/** Failed downloads from the database's records, newest first, with the downloader of their last attempt. */
async function failedDownloads(
  ctx: OpsContext,
  f: { sinceMs: number; platform?: string; downloader?: string; errorKind?: string; limit: number },
): Promise<FailedRow[]> {
  const since = new Date(Date.now() - f.sinceMs);
  const rows = await ctx.db.download.findMany({
    where: {
      state: 'failed',
      finishedAt: { gte: since },
      ...(f.platform ? { platform: f.platform } : {}),
      ...(f.errorKind ? { errorKind: f.errorKind } : {}),
    },
    orderBy: { finishedAt: 'desc' },
    take: f.downloader ? 1_000 : f.limit,
  });
  const last = rows.length
    ? await ctx.db.$queryRaw<{ content_key: string; downloader: string }[]>`
        SELECT DISTINCT ON (content_key) content_key, downloader
          FROM download_attempts
         WHERE content_key = ANY(${rows.map((r) => r.contentKey)})
         ORDER BY content_key, finished_at DESC`
    : [];
  const downloaderOf = new Map(last.map((r) => [r.content_key, r.downloader]));
  return rows
    .map((r) => ({
      contentKey: r.contentKey,
      shortId: shortId(r.contentKey),
      url: r.url,
      platform: r.platform,
      downloader: downloaderOf.get(r.contentKey) ?? null,
      errorKind: r.errorKind,
      attempts: r.attempts,
      error: r.error,
      finishedAt: r.finishedAt,
      ui: ctx.uiUrl(r.workflowId || downloadWorkflowId(r.contentKey)),
    }))
    .filter((r) => !f.downloader || r.downloader === f.downloader)
    .slice(0, f.limit);
}

const failedFilters = {
  since: { type: 'string' },
  platform: { type: 'string' },
  downloader: { type: 'string' },
  'error-kind': { type: 'string' },
  limit: { type: 'string' },
} as const;

function filtersOf(values: Record<string, string | boolean | undefined>) {
  const text = (name: string) => {
    const v = values[name];
    if (typeof v === 'string' && !/^[A-Za-z0-9_:.-]{1,64}$/.test(v))
      throw new UsageError(`--${name} takes a name like youtube or NotFound`);
    return typeof v === 'string' ? v : undefined;
  };
  return {
    sinceMs: parseDuration('since', typeof values.since === 'string' ? values.since : '24h'),
    platform: text('platform'),
    downloader: text('downloader'),
    errorKind: text('error-kind'),
    limit: parseCount('limit', values.limit as string | undefined, 50, 1, 1000),
  };
}

/** The people who asked for a download, from its records (the newest request of each chat). */
async function subscribersOf(ctx: OpsContext, contentKey: string): Promise<Subscriber[]> {
  const requests = await ctx.db.downloadRequest.findMany({ where: { contentKey }, orderBy: { createdAt: 'desc' } });
  const seen = new Set<string>();
  const subscribers: Subscriber[] = [];
  for (const r of requests) {
    const chat = r.chatId.toString();
    if (seen.has(chat)) continue;
    seen.add(chat);
    subscribers.push({
      chatId: Number(r.chatId),
      userId: Number(r.userId),
      messageId: r.messageId,
      correlationId: r.correlationId,
      ...(r.chatId === 0n ? { via: 'cli' as const } : {}),
    });
  }
  return subscribers;
}

const PROGRESS_BAR = (p: number | null) => (p === null ? '' : ` ${p.toFixed(1)}%`);

function viewLines(view: DownloadView): string[] {
  const p = view.progress;
  return [
    `${view.shortId}  ${view.state}${view.paused ? ' (paused)' : ''}${p ? `${PROGRESS_BAR(p.percent)}, attempt ${p.attempt}` : ''}`,
    `  link: ${view.url}`,
    `  platform: ${view.platform ?? 'unknown'}; requested by: ${view.requestedBy.join(', ') || 'nobody recorded'}; subscribers: ${view.subscribers ?? '?'}`,
    `  started: ${view.startedAt.toISOString()}${view.closedAt ? `; ended: ${view.closedAt.toISOString()}` : ''}`,
  ];
}

export const COMMANDS: readonly CommandSpec<OpsContext>[] = [
  {
    name: 'status',
    usage: 'status',
    summary: 'global pause, downloads by state, failures and open monitoring incidents',
    options: {},
    positionals: { min: 0, max: 0 },
    async run(ctx, _args, out) {
      // All settle before the first failure is reported: nothing may still be calling Temporal when the CLI closes its connection.
      const settled = await Promise.allSettled([
        ctx.downloads.globalState(),
        ctx.downloads.countByState(),
        ctx.db.download.count({ where: { state: 'failed', finishedAt: { gte: new Date(Date.now() - 86_400_000) } } }),
        ctx.db.monitorIncident.findMany({ where: { openFor: { not: null } }, orderBy: { openedAt: 'asc' } }),
      ] as const);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      const [control, counts, failed24h, incidents] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
        Awaited<ReturnType<DownloadsClient['globalState']>>,
        Awaited<ReturnType<DownloadsClient['countByState']>>,
        number,
        Array<{ downloader: string; openedAt: Date; lastError: string | null }>,
      ];
      out.result(
        {
          paused: control.paused,
          pausedBy: control.pausedBy?.name ?? null,
          counts,
          failedLast24h: failed24h,
          openIncidents: incidents.map((i) => ({ downloader: i.downloader, openedAt: i.openedAt, lastError: i.lastError })),
        },
        (r) => {
          out.line(r.paused ? `Everything is PAUSED (by ${r.pausedBy ?? 'someone'}).` : 'Running (not paused).');
          out.line(
            `Downloads: ${r.counts.downloading} downloading, ${r.counts.queued} queued, ${r.counts.waiting_for_disk} waiting for disk, ${r.counts.paused} paused.`,
          );
          out.line(`Failed in the last 24 h: ${r.failedLast24h} (npm run ops -- failed)`);
          if (r.openIncidents.length === 0) out.line('Monitoring: no downloader is failing.');
          for (const i of r.openIncidents)
            out.line(`Monitoring: ${i.downloader} failing since ${i.openedAt.toISOString()}: ${i.lastError ?? ''}`);
        },
      );
    },
  },
  {
    name: 'failed',
    usage: 'failed [--since 24h] [--platform x] [--downloader y] [--error-kind z] [--limit 50]',
    summary: 'failed downloads: ID, link, error kind, attempts, last error, Web UI link',
    details: [
      '--since: how far back (30m, 24h, 7d; default 24h). --platform: youtube, generic, ... --downloader: the',
      'extractor of the last attempt (youtube, generic, direct). --error-kind: NotFound, Network, ServerError, ...',
    ],
    options: failedFilters,
    positionals: { min: 0, max: 0 },
    async run(ctx, { values }, out) {
      const rows = await failedDownloads(ctx, filtersOf(values));
      out.result(rows, (list) => {
        if (list.length === 0) return out.line('No failed downloads match.');
        for (const r of list) {
          out.line(
            `${r.shortId}  ${r.errorKind ?? 'Unknown'}  ${r.attempts} attempt(s)  ${r.finishedAt?.toISOString() ?? ''}  ${r.downloader ?? r.platform}`,
          );
          out.line(`  ${r.url}`);
          out.line(`  last error: ${r.error ?? '(none recorded)'}`);
          out.line(`  ${r.ui}`);
        }
        out.line(`${list.length} failed download(s). Replay one: npm run ops -- replay <id>`);
      });
    },
  },
  {
    name: 'inspect',
    usage: 'inspect <id>',
    summary: 'one download: state, attempts and their errors, last progress, correlation ID, where its logs are, UI link',
    details: ['<id>: the short ID from a reply or a list (8 hex digits), or the whole content key.'],
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx, { positionals }, out) {
      const view = await ctx.downloads.describe(positionals[0]!);
      if (!view.ok) refused(view);
      const [record, attempts] = await Promise.all([
        ctx.db.download.findUnique({ where: { contentKey: view.contentKey } }),
        ctx.db.downloadAttempt.findMany({ where: { contentKey: view.contentKey }, orderBy: { finishedAt: 'asc' } }),
      ]);
      const workflowId = downloadWorkflowId(view.contentKey);
      const correlationId = record?.correlationId ?? null;
      const result = {
        ...view,
        workflowId,
        correlationId,
        title: record?.title ?? null,
        filePath: record?.filePath ?? null,
        error: record?.error ?? null,
        attempts: attempts.map((a) => ({
          attempt: a.attempt,
          finishedAt: a.finishedAt,
          success: a.success,
          downloader: a.downloader,
          source: a.source,
          errorKind: a.errorKind,
          error: a.error,
        })),
        logs: correlationId
          ? {
              json: `grep -F '"correlationId":"${correlationId}"' <log file>`,
              systemd: `journalctl -u 'mediadl-*' -o cat | grep -F '${correlationId}'`,
            }
          : null,
        ui: ctx.uiUrl(workflowId),
      };
      out.result(result, (r) => {
        for (const line of viewLines(view)) out.line(line);
        if (r.title) out.line(`  title: ${r.title}`);
        if (r.filePath) out.line(`  file: ${r.filePath}`);
        if (r.error) out.line(`  error: ${r.error}`);
        out.line(`  attempts (${r.attempts.length}):`);
        for (const a of r.attempts)
          out.line(
            `    #${a.attempt} ${a.finishedAt.toISOString()} ${a.downloader}/${a.source ?? '-'} ${a.success ? 'ok' : `${a.errorKind}: ${a.error ?? ''}`}`,
          );
        out.line(`  correlation ID: ${r.correlationId ?? 'unknown'}`);
        if (r.logs) out.line(`  logs: ${r.logs.json}   or   ${r.logs.systemd}`);
        out.line(`  ${r.ui}`);
      });
    },
  },
  {
    name: 'replay',
    usage: 'replay <id> | --all-failed [--since 24h] [--platform x] [--downloader y] [--error-kind z] [--dry-run] [--rate 1]',
    summary: 'new runs of failed downloads; everyone who asked is told it is being retried, and later how it ended',
    details: [
      'A new run of the same workflow ID with the same link and options (the failed run stays in the history).',
      '--all-failed takes the downloads `failed` would list (same filters, at most --limit). --rate: runs started per',
      'second (default 1). --dry-run: only prints what it would do.',
    ],
    options: { ...failedFilters, 'all-failed': { type: 'boolean' }, 'dry-run': { type: 'boolean' }, rate: { type: 'string' } },
    positionals: { min: 0, max: 1 },
    async run(ctx, { values, positionals }, out) {
      const all = values['all-failed'] === true;
      if (all === (positionals.length === 1)) throw new UsageError('replay takes either an <id> or --all-failed');
      const rate = parseCount('rate', values.rate as string | undefined, 1, 1, 50);
      const dryRun = values['dry-run'] === true;
      const targets = all ? (await failedDownloads(ctx, filtersOf(values))).map((r) => r.shortId) : [positionals[0]!];
      const results: Array<{ id: string; outcome: string; told: number; message?: string; code?: (typeof EXIT)[keyof typeof EXIT] }> = [];
      for (const [i, id] of targets.entries()) {
        if (i > 0) await new Promise((r) => setTimeout(r, 1_000 / rate));
        results.push(await replayOne(ctx, id, dryRun));
        const last = results.at(-1)!;
        out.line(
          `${last.id}: ${last.outcome}${last.message ? ` (${last.message})` : ''}${last.told ? `; ${last.told} subscriber(s) told` : ''}`,
        );
      }
      out.result({ dryRun, results }, (r) => {
        if (r.results.length === 0) out.line('No failed downloads match: nothing to replay.');
        else
          out.line(
            `${dryRun ? 'Would replay' : 'Replayed'} ${r.results.filter((x) => x.outcome !== 'refused').length} of ${r.results.length}.`,
          );
      });
      if (!all && results[0]?.outcome === 'refused') throw new OpsFailure(results[0].message ?? 'refused', results[0].code ?? EXIT.failed);
    },
  },
  ...(['pause', 'resume'] as const).map((verb): CommandSpec<OpsContext> => ({
    name: verb,
    usage: `${verb} [<id>]`,
    summary: verb === 'pause' ? 'pause everything (or one download): partial files are kept' : 'continue everything (or one download)',
    options: {},
    positionals: { min: 0, max: 1 },
    async run(ctx, { positionals }, out) {
      if (positionals.length === 0) {
        const r = verb === 'pause' ? await ctx.downloads.pauseAll(ctx.actor) : await ctx.downloads.resumeAll(ctx.actor);
        if (!r.ok) refused(r);
        return out.result(r, (x) => out.line(x.message));
      }
      const r = await ctx.downloads[verb](positionals[0]!, ctx.actor);
      if (!r.ok) refused(r);
      out.result(r, (x) => out.line(`${x.shortId}: ${x.message}`));
    },
  })),
  {
    name: 'cancel',
    usage: 'cancel <id>',
    summary: 'cancel one download: its partial files are removed and everyone who asked is told',
    options: {},
    positionals: { min: 1, max: 1 },
    async run(ctx, { positionals }, out) {
      const r = await ctx.downloads.cancel(positionals[0]!, ctx.actor);
      if (!r.ok) refused(r);
      out.result(r, (x) => out.line(`${x.shortId}: ${x.message}`));
    },
  },
  {
    name: 'download',
    usage: 'download <url> [--audio] [--wait] [--timeout 30m]',
    summary: 'queue a download without Telegram (same checks and workflow as the bot; the operator is the subscriber)',
    details: [
      '--audio: the sound only (mp3). --wait: wait for it to end and print the file (exit 1 if it failed);',
      '--timeout: how long --wait waits (default 30m).',
    ],
    options: { audio: { type: 'boolean' }, wait: { type: 'boolean' }, timeout: { type: 'string' } },
    positionals: { min: 1, max: 1 },
    async run(ctx, { values, positionals }, out) {
      const timeoutMs = parseDuration('timeout', typeof values.timeout === 'string' ? values.timeout : '30m');
      const correlationId = `ops-${Date.now().toString(36)}`;
      const report = await queueLinks(
        { ...ctx.intake, downloads: ctx.downloads },
        {
          text: positionals[0]!,
          extraUrls: [],
          chatId: 0,
          userId: 0,
          messageId: 0,
          correlationId,
          mode: values.audio === true ? 'audio' : 'video',
          role: 'owner',
          via: 'cli',
          requesterName: ctx.actor.name,
        },
      );
      const started = [...report.queued, ...report.joined][0];
      if (!values.wait || !started?.contentKey) {
        out.result(report, (r) => out.line(intakeReplyText(r)));
        if (report.rejected.length > 0 || report.failed.length > 0) throw new OpsFailure('nothing was queued', EXIT.failed);
        return;
      }
      out.line(intakeReplyText(report));
      out.line('Waiting for it to end...');
      const outcome = await waitFor(ctx, started.contentKey, timeoutMs);
      out.result({ ...report, outcome }, (r) => out.line(outcomeText(r.outcome)));
      if (outcome.status !== 'completed') throw new OpsFailure(`the download ${outcome.status}`, EXIT.failed);
    },
  },
];

/** A new run of one failed download, with everyone who asked subscribed and told. */
async function replayOne(
  ctx: OpsContext,
  id: string,
  dryRun: boolean,
): Promise<{ id: string; outcome: string; told: number; message?: string; code?: (typeof EXIT)[keyof typeof EXIT] }> {
  const resolved = await ctx.downloads.resolve(id);
  if (!resolved.ok && resolved.reason === 'unavailable') throw new OpsFailure(resolved.message, EXIT.unavailable);
  if (!resolved.ok)
    return {
      id,
      outcome: 'refused',
      told: 0,
      message: resolved.message,
      code: resolved.reason === 'not_found' ? EXIT.notFound : EXIT.failed,
    };
  const subscribers = await subscribersOf(ctx, resolved.contentKey);
  const first = subscribers[0] ?? {
    chatId: 0,
    userId: 0,
    messageId: 0,
    correlationId: `ops-${Date.now().toString(36)}`,
    via: 'cli' as const,
  };
  if (dryRun) {
    const view = await ctx.downloads.describe(resolved.shortId);
    if (!view.ok) return { id: resolved.shortId, outcome: 'refused', told: 0, message: view.message };
    if (view.state !== 'failed')
      return { id: resolved.shortId, outcome: 'refused', told: 0, message: `it is ${view.state}; only a failed download is replayed` };
    // As the replay below: subscribers who asked through this CLI are not told on Telegram.
    const toTell = ctx.tell ? subscribers.filter((x) => x.via !== 'cli').length : 0;
    return { id: resolved.shortId, outcome: 'would replay', told: 0, message: `${toTell} subscriber(s) would be told` };
  }
  const result = await ctx.downloads.retry(resolved.shortId, first);
  if (!result.ok) return { id: resolved.shortId, outcome: 'refused', told: 0, message: result.message };
  const handle = ctx.temporal.workflow.getHandle(downloadWorkflowId(resolved.contentKey));
  for (const other of subscribers.slice(1)) await handle.signal(subscribeSignal, other);
  let told = 0;
  if (ctx.tell) {
    for (const s of subscribers.filter((x) => x.via !== 'cli')) {
      const ok = await ctx
        .tell(
          s.chatId,
          s.messageId,
          `🔁 This download is being tried again (an operator replayed it) [${resolved.shortId}]. You will be told how it ends.`,
        )
        .then(
          () => true,
          (err: unknown) => (ctx.logger.warn({ err, chatId: s.chatId }, 'could not tell a subscriber of a replay'), false),
        );
      if (ok) told += 1;
    }
  }
  ctx.logger.info({ shortId: resolved.shortId, subscribers: subscribers.length, told, by: ctx.actor.id }, 'failed download replayed');
  return { id: resolved.shortId, outcome: result.outcome === 'joined' ? 'already running again' : 'replayed', told };
}

/** Waits for the download workflow to end and reads its outcome. */
async function waitFor(ctx: OpsContext, contentKey: string, timeoutMs: number): Promise<DownloadOutcome> {
  const handle = ctx.temporal.workflow.getHandle(downloadWorkflowId(contentKey));
  const timer = new Promise<never>((_, reject) =>
    setTimeout(
      () =>
        reject(new OpsFailure(`still running after --timeout; it goes on (npm run ops -- inspect ${shortId(contentKey)})`, EXIT.failed)),
      timeoutMs,
    ).unref(),
  );
  return Promise.race([handle.result() as Promise<DownloadOutcome>, timer]);
}

function outcomeText(o: DownloadOutcome): string {
  if (o.status === 'completed') return `Downloaded: ${o.title}\nSaved as: ${o.filePath} (${o.sizeBytes} bytes)`;
  if (o.status === 'cancelled') return `Cancelled by ${o.by.name}.`;
  return `Failed (${o.errorKind}): ${o.message}`;
}
