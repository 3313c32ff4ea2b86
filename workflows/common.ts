import { ActivityFailure, ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { LightActivities } from '../activities';
import { ERROR_KINDS, isErrorKind } from '../domain/downloads/errors';

/** Database writes retry until PostgreSQL is back: nothing accepted is lost. */
export const records = proxyActivities<LightActivities>({
  summary: 'Record in PostgreSQL',
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

/**
 * Telling people: retried for a while (Telegram's 429s included), then given up
 * on with a log line. Long enough to upload a file within TELEGRAM_UPLOAD_LIMIT_MB.
 */
export const notifier = proxyActivities<LightActivities>({
  summary: 'Tell the people who asked (Telegram)',
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 12 },
});

/**
 * A failure our activities classified, as people read it: its kind, and the
 * activity's own words (which may name the refused address or the size limit),
 * or the kind's sentence when they are missing. Null for anything else.
 */
export function classifiedFailure(err: unknown): { errorKind: string; message: string } | null {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (!(cause instanceof ApplicationFailure) || !isErrorKind(cause.type)) return null;
  return { errorKind: cause.type, message: cause.message || ERROR_KINDS[cause.type].message };
}
