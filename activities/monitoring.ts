import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import { alertWorkflowId, raisedAlert, recoveredAlert, type Alert, type AlertDelivery } from '../domain/monitoring/alerts';
import type { AttemptRecord } from '../domain/monitoring/attempts';
import {
  closeStaleIncidents,
  deleteAttemptsOlderThan,
  evaluate,
  markQueued,
  pendingAlerts,
  storeAttempts,
} from '../domain/monitoring/health';
import { CHANNELS, loadSettings, type Channel, type MonitoringSettings } from '../domain/monitoring/settings';
import type { Api } from 'grammy';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import { deliveryError } from '../lib/telegram';
import type { ActivityDeps } from './deps';

/** The alert channels this deployment has configured; each one sends one alert or throws. */
export interface AlertChannels {
  /** Telegram: the owners (ADMIN_IDS) and everyone with the admin role. */
  telegram?: { send(chatId: number, text: string): Promise<void>; owners: number[] };
  /** MONITOR_WEBHOOK_URL: the alert posted as JSON. */
  webhook?: { url: string };
  /** PUSHOVER_TOKEN and PUSHOVER_USER. */
  pushover?: { apiUrl: string; token: string; user: string };
}

/** The channels the configuration sets up: Telegram when there is a bot (to the owners and admins), the webhook and Pushover when their settings are given. */
export function alertChannelsOf(
  config: Pick<Config, 'ADMIN_IDS' | 'MONITOR_WEBHOOK_URL' | 'PUSHOVER_TOKEN' | 'PUSHOVER_USER' | 'PUSHOVER_API_URL'>,
  telegram: Api | null,
): AlertChannels {
  return {
    ...(telegram
      ? {
          telegram: {
            owners: config.ADMIN_IDS,
            send: async (chatId: number, text: string) => {
              await telegram.sendMessage(chatId, text, { link_preview_options: { is_disabled: true } });
            },
          },
        }
      : {}),
    ...(config.MONITOR_WEBHOOK_URL ? { webhook: { url: config.MONITOR_WEBHOOK_URL } } : {}),
    ...(config.PUSHOVER_TOKEN && config.PUSHOVER_USER
      ? { pushover: { apiUrl: config.PUSHOVER_API_URL, token: config.PUSHOVER_TOKEN, user: config.PUSHOVER_USER } }
      : {}),
  };
}

/** Channels both switched on in the settings and configured here. */
export function channelsFor(settings: MonitoringSettings, configured: AlertChannels | undefined): Channel[] {
  return CHANNELS.filter((c) => settings.channels[c] && configured?.[c]);
}

const HTTP_TIMEOUT_MS = 15_000;

async function post(url: string, body: string, contentType: string, idempotencyKey: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    // A retry after a lost answer posts again: receivers can drop the repeat by this key.
    headers: { 'content-type': contentType, 'idempotency-key': idempotencyKey },
    body,
    redirect: 'error',
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  // The body is drained (and not shown: it may echo what was sent).
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`answered HTTP ${response.status}`);
}

/** People with the admin role now (not expired, not banned), besides the owners. */
async function adminIds(db: Db, now = new Date()): Promise<number[]> {
  const rows = await db.botUser.findMany({
    where: {
      role: 'admin',
      OR: [{ roleExpiresAt: null }, { roleExpiresAt: { gt: now } }],
      NOT: { banned: true, OR: [{ banExpiresAt: null }, { banExpiresAt: { gt: now } }] },
    },
    select: { userId: true },
  });
  return rows.map((r) => Number(r.userId));
}

export function createMonitoringActivities(deps: Pick<ActivityDeps, 'db' | 'logger' | 'alertChannels'>) {
  return {
    /**
     * Sends one alert on one channel. Telegram goes to every admin: those
     * already reached are remembered across retries (in the heartbeat), so a
     * retry after one failed recipient does not message the others twice.
     */
    async deliverAlert(channel: Channel, alert: Alert): Promise<void> {
      const configured = deps.alertChannels?.[channel];
      const log = deps.logger.child({ channel, downloader: alert.downloader, incident: alert.incidentId, alert: alert.kind });
      if (!configured) {
        log.warn('alert channel no longer configured; not sent');
        return;
      }
      try {
        if (channel === 'telegram') {
          const telegram = deps.alertChannels!.telegram!;
          const ctx = Context.current();
          const done = new Set<number>((ctx.info.heartbeatDetails as number[] | undefined) ?? []);
          const recipients = [...new Set([...telegram.owners, ...(await adminIds(deps.db))])];
          let failed: Error | null = null;
          for (const chatId of recipients) {
            if (done.has(chatId)) continue;
            try {
              await telegram.send(chatId, `${alert.title}\n${alert.text}`);
              done.add(chatId);
              ctx.heartbeat([...done]);
            } catch (err) {
              const refused = deliveryError(err);
              // A person who blocked the bot will not be reached by retrying.
              if (refused.permanent) log.warn({ chatId, reason: refused.message }, 'an admin cannot be sent alerts');
              else failed = refused;
            }
          }
          if (failed) throw failed;
        } else if (channel === 'webhook') {
          const event = alert.kind === 'raised' ? 'downloader.failing' : 'downloader.recovered';
          await post(
            deps.alertChannels!.webhook!.url,
            JSON.stringify({ event, ...alert }),
            'application/json',
            alertWorkflowId(alert.incidentId, alert.kind),
          );
        } else {
          const pushover = deps.alertChannels!.pushover!;
          const form = new URLSearchParams({
            token: pushover.token,
            user: pushover.user,
            title: alert.title,
            message: alert.text,
            priority: String(alert.kind === 'raised' ? (alert.pushoverPriority ?? 1) : 0),
          });
          await post(pushover.apiUrl, form.toString(), 'application/x-www-form-urlencoded', alertWorkflowId(alert.incidentId, alert.kind));
        }
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        log.warn({ reason, attempt: Context.current().info.attempt }, 'alert not delivered; it is retried');
        // The address is not named: a webhook's may carry its secret.
        throw ApplicationFailure.retryable(`the ${channel} alert channel failed: ${reason}`, 'AlertNotDelivered');
      }
      log.info('alert delivered');
    },

    /** Daily housekeeping: attempts older than the retention setting go. */
    async pruneAttempts(): Promise<number> {
      const settings = await loadSettings(deps.db);
      const deleted = await deleteAttemptsOlderThan(deps.db, settings.retentionDays);
      deps.logger.info({ deleted, retentionDays: settings.retentionDays }, 'old download attempts deleted');
      return deleted;
    },

    /** Incidents of downloaders nobody has tried within the window are closed. */
    async closeStaleIncidents(): Promise<number> {
      const closed = await closeStaleIncidents(deps.db, await loadSettings(deps.db));
      deps.logger.info({ closed }, 'stale monitoring incidents closed');
      return closed;
    },
  };
}

/**
 * What the worker does with attempts: store them, then decide each touched
 * downloader's health, and hand every alert decided but not yet handed over to
 * Temporal (a workflow per incident and kind delivers it; its ID refuses a
 * second). The incident row is the outbox: an alert whose hand-over failed
 * (Temporal down, the worker dying) goes at the next flush or worker start.
 * Runs in the attempt journal's background flush, never in a download.
 */
export function attemptStore(o: { db: Db; logger: Logger; temporal: Client; taskQueue: string; alertChannels?: AlertChannels }) {
  return {
    store: (attempts: AttemptRecord[]) => storeAttempts(o.db, attempts),
    async afterStore(attempts: AttemptRecord[]): Promise<void> {
      // Who asked, from the download's requests (the activity does not know).
      if (attempts.length > 0) {
        await o.db.$executeRaw`
          UPDATE download_attempts a
             SET requested_by = (SELECT r.user_id FROM download_requests r WHERE r.content_key = a.content_key ORDER BY r.created_at LIMIT 1)
           WHERE a.id = ANY(${attempts.map((a) => a.id)}::uuid[]) AND a.requested_by IS NULL`;
      }
      const settings = await loadSettings(o.db);
      for (const downloader of [...new Set(attempts.map((a) => a.downloader))].sort()) {
        // One downloader's trouble does not keep the others from being judged.
        try {
          const change = await evaluate(o.db, downloader, settings);
          if (change?.kind === 'raised') o.logger.warn({ downloader, incident: change.incidentId }, 'downloader failing: alert raised');
          if (change?.kind === 'recovered')
            o.logger.info({ downloader, incident: change.incidentId, told: change.notify }, 'downloader recovered');
        } catch (err) {
          o.logger.error({ err, downloader }, "could not judge a downloader's health");
        }
      }
      await handOverAlerts(o, settings);
    },
  };
}

/** Starts the delivery of every pending alert; what cannot be started now stays pending. */
export async function handOverAlerts(
  o: { db: Db; logger: Logger; temporal: Client; taskQueue: string; alertChannels?: AlertChannels },
  settings?: MonitoringSettings,
): Promise<void> {
  const current = settings ?? (await loadSettings(o.db));
  for (const pending of await pendingAlerts(o.db)) {
    const now = new Date();
    const alert =
      pending.kind === 'raised'
        ? {
            ...raisedAlert(
              { ...pending, latestError: pending.lastError, failureWindowHours: current.failureWindowHours },
              pending.openedAt,
            ),
            pushoverPriority: current.pushoverPriority,
          }
        : recoveredAlert(pending, pending.closedAt ?? now);
    const channels = channelsFor(current, o.alertChannels);
    try {
      if (channels.length > 0) await startDelivery(o, { alert, channels });
      await markQueued(o.db, pending.incidentId, pending.kind, now);
    } catch (err) {
      o.logger.warn(
        { err, incident: pending.incidentId, alert: pending.kind },
        'alert not handed to Temporal yet; it goes at the next try',
      );
      return;
    }
  }
}

async function startDelivery(o: { temporal: Client; taskQueue: string }, delivery: AlertDelivery): Promise<void> {
  try {
    await o.temporal.workflow.start('monitorAlertWorkflow', {
      workflowId: alertWorkflowId(delivery.alert.incidentId, delivery.alert.kind),
      taskQueue: o.taskQueue,
      args: [delivery],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      staticSummary: `${delivery.alert.title} (incident ${delivery.alert.incidentId})`,
    });
  } catch (err) {
    // Started before (the mark that says so was lost): it is under way, or done.
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
