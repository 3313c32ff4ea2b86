import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client, type ScheduleSpec } from '@temporalio/client';
import type { Logger } from '../lib/logger';

/** The monitoring's housekeeping, as Temporal Schedules: visible, pausable and triggerable in the Temporal UI. */
export const HOUSEKEEPING_SCHEDULES: { scheduleId: string; workflowType: string; note: string; spec: ScheduleSpec }[] = [
  {
    scheduleId: 'monitor-prune-attempts',
    workflowType: 'pruneAttemptsWorkflow',
    note: 'Deletes download attempts older than the monitoring retention setting (daily).',
    spec: { calendars: [{ hour: 3, minute: 17, comment: 'daily at 03:17 UTC' }] },
  },
  {
    scheduleId: 'monitor-close-stale-incidents',
    workflowType: 'closeStaleIncidentsWorkflow',
    note: 'Closes monitoring incidents of downloaders not tried within the failure window (hourly).',
    spec: { intervals: [{ every: '1 hour' }] },
  },
];

/**
 * Creates the housekeeping schedules unless they exist. Every worker start
 * calls this; the first one creates them, later ones leave them as they are
 * (an operator may have paused one in the UI, and that stays).
 */
export async function ensureSchedules(client: Client, taskQueue: string, logger: Logger): Promise<{ created: string[] }> {
  const created: string[] = [];
  for (const s of HOUSEKEEPING_SCHEDULES) {
    try {
      await client.schedule.create({
        scheduleId: s.scheduleId,
        spec: s.spec,
        action: { type: 'startWorkflow', workflowType: s.workflowType, taskQueue, args: [], workflowId: s.scheduleId },
        policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 day' },
        state: { note: s.note },
      });
      created.push(s.scheduleId);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    }
  }
  if (created.length > 0) logger.info({ created }, 'housekeeping schedules created');
  return { created };
}
