import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
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
/** Signals sent at once when everything is paused or resumed. */
const FAN_OUT_BATCH = 100;

/**
 * The one durable place that knows whether everything is paused, and which
 * downloads are running. Every download registers when it starts and is
 * answered with the global pause state; a global pause or resume is sent to
 * every registered download. Because registrations and pauses are handled one
 * at a time here, a link sent in the same second as /pause is either paused on
 * registration or reached by the fan-out: never left running.
 */
export async function downloadsControlWorkflow(carried?: CarriedControlState): Promise<void> {
  let paused = carried?.paused ?? false;
  let pausedBy: Actor | null = carried?.pausedBy ?? null;
  let pausedAt: number | null = carried?.pausedAt ?? null;
  const active = new Set<string>(carried?.active ?? []);
  // Downloads that must hear the current global state (the state is read when sending).
  const outbox = new Set<string>();

  const view = (): ControlView => ({ paused, pausedBy, pausedAt, active: [...active] });
  setHandler(controlQuery, view);
  setHandler(registerSignal, ({ workflowId }) => {
    active.add(workflowId);
    outbox.add(workflowId);
  });
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
      for (const id of active) outbox.add(id);
      return { paused, message: `everything is paused (running or queued downloads stopped: ${active.size})`, affected: active.size };
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
      for (const id of active) outbox.add(id);
      log.info('everything resumed', { by: by.id, downloads: active.size });
      return { paused, message: `everything resumed (downloads continuing: ${active.size})`, affected: active.size };
    },
    {
      validator: (_request: { by: Actor }) => {
        if (!paused) throw new Error('nothing is paused globally');
      },
    },
  );

  for (;;) {
    const longHistory = () => workflowInfo().historyLength > HISTORY_LIMIT || workflowInfo().continueAsNewSuggested;
    await condition(() => outbox.size > 0 || longHistory());
    while (outbox.size > 0) {
      const batch = [...outbox].slice(0, FAN_OUT_BATCH);
      for (const id of batch) outbox.delete(id);
      await Promise.all(
        batch.map((id) =>
          getExternalWorkflowHandle(id)
            .signal(globalPauseSignal, { paused, by: pausedBy })
            // A download that has ended since it registered: forget it.
            .catch(() => active.delete(id)),
        ),
      );
    }
    if (longHistory()) {
      await condition(allHandlersFinished);
      if (outbox.size === 0) await continueAsNew<typeof downloadsControlWorkflow>({ paused, pausedBy, pausedAt, active: [...active] });
    }
  }
}
