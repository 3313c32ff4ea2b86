import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  downloadStartedSignal,
  entryEndedSignal,
  registerSignal,
  unregisterSignal,
  type DownloadedFile,
  type DownloadInput,
  type DownloadOutcome,
  type EntryStatus,
  type GlobalPauseState,
  type Subscriber,
} from '../domain/downloads/definitions';
import type { Logger } from '../lib/logger';
import { inActivityScope } from './activity-scope';

/** The record steps the first and last steps of a download are made of. */
export interface RecordSteps {
  dedup(input: DownloadInput, subscribers: Subscriber[]): Promise<DownloadedFile | null>;
  recordResult(input: DownloadInput, outcome: DownloadOutcome, subscribers: Subscriber[]): Promise<void>;
}

export interface BegunDownload {
  /** The file of an earlier download, still on disk: nothing to download. */
  onDisk: DownloadedFile | null;
  /**
   * Whether everything is paused, from a recent look at the control workflow
   * (null: unknown, taken as not paused). The registration told the control
   * workflow this assumption; it signals the download if it is wrong.
   */
  globalPause: GlobalPauseState | null;
}

export interface FinishingDownload {
  controlWorkflowId: string;
  /** Playlists (workflow IDs) this download is an entry of, each told how the entry ended. */
  playlists: string[];
  entryStatus: EntryStatus;
}

/**
 * A download's first and last steps as one activity each (downloads-lean-v2):
 * what used to be a workflow round trip per step (dedup; a signal to the
 * control workflow and a signal back; recording; unregistering; a signal to
 * each playlist) runs here, so a small download costs the Temporal server and
 * the worker five workflow tasks instead of eight or nine (with the download
 * step's downloadStarted signal).
 *
 * The registration is a signal that says what the download assumes (from
 * `recentGlobalPause`, a look at the control workflow shared by the worker's
 * activities and up to a second old); the control workflow answers only when
 * the assumption is wrong. An update answered in its result would be exact
 * without the look, but a burst of downloads then queues one update after
 * another on the control workflow (200 links took half again as long in the
 * bench), where signals are taken many per workflow task.
 */
export function createLifecycleActivities(
  parts: RecordSteps,
  deps: { temporal?: Client; logger: Logger; recentGlobalPause?: () => Promise<GlobalPauseState | null> },
) {
  const workflowIdNow = () => Context.current().info.workflowExecution?.workflowId ?? '';

  /** A look at the global pause that may fail or be missing: unknown, then. */
  async function lookAtGlobalPause(log: Logger): Promise<GlobalPauseState | null> {
    if (!deps.recentGlobalPause) return null;
    return deps.recentGlobalPause().catch((err: unknown) => {
      log.warn({ err }, 'could not ask whether everything is paused; assuming not (the control workflow corrects it)');
      return null;
    });
  }

  /** Registers with the control workflow, saying what the download assumes; a control workflow that cannot be reached leaves the download unpaused, as before. */
  async function register(log: Logger, controlWorkflowId: string, workflowId: string): Promise<GlobalPauseState | null> {
    const assumed = await lookAtGlobalPause(log);
    if (!deps.temporal) return assumed;
    try {
      await deps.temporal.workflow.getHandle(controlWorkflowId).signal(registerSignal, { workflowId, assumed: assumed?.paused ?? false });
    } catch (err) {
      // Without the control workflow a global pause cannot reach this download; it still runs
      // (believing the look's "paused" would hold it with no resume ever sent to it).
      log.warn({ err }, 'could not register with the control workflow');
      return null;
    }
    return assumed;
  }

  /** A signal whose failure is only worth a log line (the workflow that would hear it has ended). */
  async function tell(log: Logger, what: string, send: () => Promise<void>): Promise<void> {
    await send().catch((err: unknown) => log.warn({ err }, `could not ${what}`));
  }

  return {
    /** Dedup and registration with the control workflow, side by side. */
    async beginDownload(input: DownloadInput, subscribers: Subscriber[], controlWorkflowId: string): Promise<BegunDownload> {
      const workflowId = workflowIdNow();
      const [onDisk, globalPause] = await Promise.all([
        parts.dedup(input, subscribers),
        inActivityScope(deps.logger, input.correlationId, (log) => register(log, controlWorkflowId, workflowId)),
      ]);
      return { onDisk, globalPause };
    },

    /**
     * Records how the download ended and who asked, then unregisters it and
     * tells its playlists. People are told afterwards, by the workflow: whoever
     * joins meanwhile is told too.
     */
    async finishDownload(
      input: DownloadInput,
      outcome: DownloadOutcome,
      subscribers: Subscriber[],
      finishing: FinishingDownload,
    ): Promise<void> {
      await parts.recordResult(input, outcome, subscribers);
      const workflowId = workflowIdNow();
      await inActivityScope(deps.logger, input.correlationId, async (log) => {
        const temporal = deps.temporal;
        if (!temporal) return;
        await Promise.all([
          tell(log, 'unregister from the control workflow', () =>
            temporal.workflow.getHandle(finishing.controlWorkflowId).signal(unregisterSignal, { workflowId }),
          ),
          ...finishing.playlists.map((playlist) =>
            tell(log, `tell playlist ${playlist}`, () =>
              temporal.workflow
                .getHandle(playlist)
                .signal(entryEndedSignal, { contentKey: input.contentKey, status: finishing.entryStatus }),
            ),
          ),
        ]);
      });
    },
  };
}

/**
 * The download step of `downloads-lean-v2`: the quick disk check and the
 * download as one activity, one workflow round trip instead of two. Low disk
 * fails it before anything is fetched (DiskLow, which that workflow does not
 * retry: it goes to wait for space, then runs the step again). With room, it
 * tells the workflow it begins (`announce`), which then shows it as
 * downloading rather than queued.
 */
export function checkingSpaceFirst<T>(
  checkDiskSpace: (input: DownloadInput) => Promise<void>,
  download: (input: DownloadInput) => Promise<T>,
  announce: () => Promise<void> = async () => undefined,
): (input: DownloadInput) => Promise<T> {
  return async function checkSpaceAndDownload(input: DownloadInput): Promise<T> {
    await checkDiskSpace(input);
    await announce();
    return download(input);
  };
}

/** Tells the running activity's workflow that its download begins; a failure costs only the state shown. */
export function announcingStart(temporal: Client | undefined, logger: Logger): () => Promise<void> {
  return async () => {
    const workflowId = Context.current().info.workflowExecution?.workflowId;
    if (!temporal || !workflowId) return;
    await temporal.workflow
      .getHandle(workflowId)
      .signal(downloadStartedSignal)
      .catch((err: unknown) => logger.warn({ err, workflowId }, 'could not tell the workflow its download began'));
  };
}
