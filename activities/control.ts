import { DOWNLOAD_WORKFLOW_TYPE } from '../domain/downloads/definitions';
import type { ActivityDeps } from './deps';

export function createControlActivities(deps: Pick<ActivityDeps, 'temporal' | 'logger'>) {
  return {
    /**
     * The download workflows running on `taskQueue`, from Temporal's visibility:
     * a control workflow started afresh (after an operator terminated the old
     * one) rebuilds its list of running downloads from it.
     */
    async runningDownloads(taskQueue: string): Promise<string[]> {
      if (!deps.temporal) return [];
      if (!/^[A-Za-z0-9._-]{1,200}$/.test(taskQueue)) throw new Error('not a task queue name');
      const ids: string[] = [];
      const query = `WorkflowType = '${DOWNLOAD_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '${taskQueue}'`;
      for await (const info of deps.temporal.workflow.list({ query })) ids.push(info.workflowId);
      deps.logger.info({ taskQueue, running: ids.length }, 'control workflow: running downloads found');
      return ids;
    },
  };
}
