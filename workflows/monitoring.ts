import { log, proxyActivities } from '@temporalio/workflow';
import type { LightActivities } from '../activities';
import type { AlertDelivery } from '../domain/monitoring/alerts';
import type { Channel } from '../domain/monitoring/settings';

/**
 * A failing channel is retried with backoff for about a day, on its own: one
 * channel being down never holds back the others, and never touches a download.
 */
const { deliverAlert } = proxyActivities<LightActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 hours', maximumAttempts: 20 },
});

const housekeeping = proxyActivities<LightActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 10 },
});

/** Delivers one monitoring alert on each of its channels. */
export async function monitorAlertWorkflow(delivery: AlertDelivery): Promise<{ delivered: Channel[]; failed: Channel[] }> {
  const results = await Promise.allSettled(delivery.channels.map((channel) => deliverAlert(channel, delivery.alert)));
  const delivered = delivery.channels.filter((_, i) => results[i]!.status === 'fulfilled');
  const failed = delivery.channels.filter((_, i) => results[i]!.status === 'rejected');
  if (failed.length > 0) log.error('alert channels gave up', { failed, incident: delivery.alert.incidentId });
  return { delivered, failed };
}

/** Run daily by a Temporal Schedule: deletes attempts older than the retention setting. */
export async function pruneAttemptsWorkflow(): Promise<number> {
  return housekeeping.pruneAttempts();
}

/** Run hourly by a Temporal Schedule: closes incidents of downloaders not tried within the failure window. */
export async function closeStaleIncidentsWorkflow(): Promise<number> {
  return housekeeping.closeStaleIncidents();
}
