import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  patched,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { LightActivities } from '../activities';
import {
  controlQuery,
  globalPauseSignal,
  pauseAllUpdate,
  registerSignal,
  resumeAllUpdate,
  unregisterSignal,
  type Actor,
  type CarriedControlState,
  type ControlView,
} from '../domain/downloads/definitions';

/** Past this many events the control workflow continues as new, carrying its state. */
const HISTORY_LIMIT = 5_000;
/** A control workflow started under older code did not ask visibility for the running downloads. */
export const CONTROL_REBUILD_PATCH = 'control-learns-running-downloads';
/**
 * Registrations that say what the download assumes are answered only when it
 * is wrong. A control workflow started earlier answers every registration, as
 * its history says, until it continues as new.
 */
export const CONTROL_ASSUMED_PATCH = 'control-register-assumed-v1';
/** Signals sent at once when everything is paused or resumed. */
const FAN_OUT_BATCH = 100;

const { runningDownloads } = proxyActivities<LightActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

/**
 * The one durable place that knows whether everything is paused, and which
 * downloads are running. Every download registers when it starts and is
 * answered with the global pause state (downloads started since
 * `downloads-lean-v2` only when the state they assumed is wrong); a global pause or resume is sent to
 * every registered download. Because registrations and pauses are handled one
 * at a time here, a link sent in the same second as /pause is either paused on
 * registration or reached by the fan-out: never left running.
 */
export async function downloadsControlWorkflow(carried?: CarriedControlState): Promise<void> {
  let paused = carried?.paused ?? false;
  let pausedBy: Actor | null = carried?.pausedBy ?? null;
  let pausedAt: number | null = carried?.pausedAt ?? null;
  // Workflow ID -> the registration's sequence number, so a failed signal to an
  // old run does not forget a new run of the same download that registered since.
  const active = new Map<string, number>((carried?.active ?? []).map((id) => [id, 0]));
  let registrations = 0;
  // Downloads that must hear the current global state (the state is read when sending).
  const outbox = new Set<string>();

  const view = (): ControlView => ({ paused, pausedBy, pausedAt, active: [...active.keys()] });
  const answersOnlyWrongAssumptions = patched(CONTROL_ASSUMED_PATCH);
  /** `assumed`: what the download believes; it hears the state only when that is wrong (unset: always). */
  const register = (workflowId: string, assumed?: boolean) => {
    active.set(workflowId, ++registrations);
    if (!answersOnlyWrongAssumptions || assumed === undefined || assumed !== paused) outbox.add(workflowId);
  };
  setHandler(controlQuery, view);
  setHandler(registerSignal, ({ workflowId, assumed }) => register(workflowId, assumed));
  setHandler(unregisterSignal, ({ workflowId }) => {
    active.delete(workflowId);
    outbox.delete(workflowId);
  });
  setHandler(
    pauseAllUpdate,
    ({ by }) => {
      paused = true;
      pausedBy = by;
      pausedAt = Date.now();
      for (const id of active.keys()) outbox.add(id);
      return {
        paused,
        message: `everything is being paused (running or queued downloads told to stop: ${active.size})`,
        affected: active.size,
      };
    },
    {
      validator: (_request: { by: Actor }) => {
        if (paused) throw new Error(`everything is already paused (by ${pausedBy?.name ?? 'someone'})`);
      },
    },
  );
  setHandler(
    resumeAllUpdate,
    ({ by }) => {
      paused = false;
      pausedBy = null;
      pausedAt = null;
      for (const id of active.keys()) outbox.add(id);
      log.info('everything resumed', { by: by.id, downloads: active.size });
      return { paused, message: `everything resumed (downloads told to continue: ${active.size})`, affected: active.size };
    },
    {
      validator: (_request: { by: Actor }) => {
        if (!paused) throw new Error('nothing is paused globally');
      },
    },
  );

  // A fresh run (the first, or one started after an operator terminated the last)
  // learns the running downloads from visibility, in the background, and tells them the state.
  if (!carried && patched(CONTROL_REBUILD_PATCH)) {
    runningDownloads(workflowInfo().taskQueue).then(
      (ids) => ids.filter((id) => !active.has(id)).forEach((id) => register(id)),
      (err: unknown) => log.warn('could not list the running downloads', { error: String(err) }),
    );
  }

  for (;;) {
    const longHistory = () => workflowInfo().historyLength > HISTORY_LIMIT || workflowInfo().continueAsNewSuggested;
    await condition(() => outbox.size > 0 || longHistory());
    while (outbox.size > 0) {
      const batch = [...outbox].slice(0, FAN_OUT_BATCH).map((id) => ({ id, registration: active.get(id) }));
      for (const { id } of batch) outbox.delete(id);
      await Promise.all(
        batch.map(({ id, registration }) =>
          getExternalWorkflowHandle(id)
            .signal(globalPauseSignal, { paused, by: pausedBy })
            // A download that has ended since it registered: forget it, unless it registered again meanwhile.
            .catch(() => {
              if (active.get(id) === registration) active.delete(id);
            }),
        ),
      );
    }
    if (longHistory()) {
      await condition(allHandlersFinished);
      if (outbox.size === 0)
        await continueAsNew<typeof downloadsControlWorkflow>({ paused, pausedBy, pausedAt, active: [...active.keys()] });
    }
  }
}
