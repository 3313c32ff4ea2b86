import { Context } from '@temporalio/activity';
import { withCorrelation } from '../lib/correlation';
import type { Logger } from '../lib/logger';

/**
 * Runs an activity body with the request's correlation ID in scope and a logger
 * that names the workflow, the activity and the attempt: the workflow ID is what
 * ties the bot's log lines to the worker's.
 */
export function inActivityScope<T>(base: Logger, correlationId: string, fn: (log: Logger) => Promise<T>): Promise<T> {
  const { workflowExecution, activityType, attempt } = Context.current().info;
  const log = base.child({ workflowId: workflowExecution?.workflowId, activity: activityType, attempt });
  return withCorrelation(correlationId, () => fn(log));
}
