import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  proxyActivities,
  setHandler,
  TimeoutFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import { TimeoutType } from '@temporalio/common';
import type { DownloadQueueActivities, LightActivities } from '../activities';
import { DISK_LOW, ERROR_KINDS, isErrorKind } from '../lib/download-errors';
import type { DownloadState } from '../lib/download-state';
import {
  progressQuery,
  searchAttributes,
  subscribeSignal,
  type DownloadInput,
  type DownloadOutcome,
  type DownloadPolicy,
  type Subscriber,
} from './definitions';

/** How many times a disk that filled up mid-download sends us back to wait for space. */
const MAX_DISK_FULL_ROUNDS = 20;

function activitiesFor(policy: DownloadPolicy) {
  // Database writes retry until PostgreSQL is back: nothing accepted is lost.
  const records = proxyActivities<LightActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
  });
  const notifier = proxyActivities<LightActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 12 },
  });
  // One quick look first, so the workflow knows (and operators see) when it waits.
  // Low disk is its answer, not a failure to retry; a lost worker is retried.
  const diskNow = proxyActivities<DownloadQueueActivities>({
    taskQueue: policy.downloadTaskQueue,
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 second', maximumAttempts: 3, nonRetryableErrorTypes: [DISK_LOW] },
  });
  // Low disk fails the check retryably; Temporal re-runs it on a long interval
  // until space frees up or the wait limit passes.
  const disk = proxyActivities<DownloadQueueActivities>({
    taskQueue: policy.downloadTaskQueue,
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: policy.diskWaitHours * 3_600_000,
    retry: {
      initialInterval: policy.diskRecheckSeconds * 1000,
      backoffCoefficient: 2,
      maximumInterval: policy.diskRecheckSeconds * 10_000,
    },
  });
  const downloader = proxyActivities<DownloadQueueActivities>({
    taskQueue: policy.downloadTaskQueue,
    startToCloseTimeout: policy.downloadTimeoutMinutes * 60_000,
    heartbeatTimeout: policy.heartbeatTimeoutSeconds * 1000,
    // A cancelled download is over only when yt-dlp has stopped: a new request for
    // the same content must not start a second writer on the same partial file.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: {
      initialInterval: policy.retryBaseSeconds * 1000,
      backoffCoefficient: 2,
      maximumInterval: Math.max(policy.retryMaxSeconds, policy.retryBaseSeconds) * 1000,
      maximumAttempts: policy.maxRetries + 1,
      // A full disk goes back to the disk check instead of spending attempts.
      nonRetryableErrorTypes: ['DiskFull'],
    },
  });
  return { records, notifier, diskNow, disk, downloader };
}

/** Turns an activity failure into the reason users and the record see. */
function describeFailure(err: unknown, step: 'disk' | 'download', policy: DownloadPolicy): { errorKind: string; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  // When the wait for space runs out, Temporal reports the check's last failure (DiskLow),
  // or a schedule-to-close timeout; any other timeout is a lost worker, not a full disk.
  const diskWaitOver =
    step === 'disk' &&
    ((cause instanceof TimeoutFailure && cause.timeoutType === TimeoutType.SCHEDULE_TO_CLOSE) ||
      (cause instanceof ApplicationFailure && cause.type === DISK_LOW));
  if (diskWaitOver) return { errorKind: 'DiskFull', message: `the download disk stayed full for ${policy.diskWaitHours} hours` };
  if (cause instanceof TimeoutFailure) return { errorKind: 'Timeout', message: 'the download stopped making progress or took too long' };
  if (cause instanceof ApplicationFailure && isErrorKind(cause.type)) {
    // Our activities word the message for users (it may name the refused address or
    // the size limit); the kind's own sentence stands in if a message is missing.
    return { errorKind: cause.type, message: cause.message || ERROR_KINDS[cause.type].message };
  }
  return { errorKind: 'Unknown', message: ERROR_KINDS.Unknown.message };
}

/**
 * One download, from request to notification: dedup, wait for disk space,
 * download (Temporal retries with backoff), record the result, tell everyone
 * who asked. More requests for the same content join through `subscribe`.
 */
export async function downloadWorkflow(input: DownloadInput): Promise<DownloadOutcome> {
  const { records, notifier, diskNow, disk, downloader } = activitiesFor(input.policy);
  const subscribers: Subscriber[] = [];
  const unnotified: Subscriber[] = [];
  let state: DownloadState = 'queued';

  const setState = (next: DownloadState) => {
    state = next;
    upsertSearchAttributes([{ key: searchAttributes.DownloadState, value: next }]);
  };

  setHandler(subscribeSignal, (subscriber) => {
    if (subscribers.some((s) => s.chatId === subscriber.chatId && s.messageId === subscriber.messageId)) return;
    subscribers.push(subscriber);
    unnotified.push(subscriber);
    const requestedBy = [...new Set(subscribers.map((s) => String(s.userId)))];
    upsertSearchAttributes([{ key: searchAttributes.RequestedBy, value: requestedBy }]);
  });
  setHandler(progressQuery, () => ({ state, subscribers: subscribers.length }));

  let outcome: DownloadOutcome;
  let cancelled: unknown = null;
  try {
    const onDisk = await records.dedup(input, [...subscribers]);
    outcome = onDisk ? { status: 'completed', fromCache: true, ...onDisk } : await downloadWhenSpace();
  } catch (err) {
    if (!isCancellation(err)) throw err;
    cancelled = err;
    outcome = { status: 'failed', errorKind: 'Cancelled', message: 'the download was cancelled' };
  }
  setState(outcome.status === 'completed' ? 'completed' : 'failed');

  // Recording and telling people must happen even when the workflow was cancelled.
  await CancellationScope.nonCancellable(async () => {
    // Count before awaiting: whoever joins during the write is recorded on the next pass.
    let recorded = subscribers.length;
    await records.recordResult(input, outcome, subscribers.slice(0, recorded));
    // Subscribers can arrive while we notify; keep going until none is left.
    while (unnotified.length > 0) {
      const batch = unnotified.splice(0);
      await Promise.all(
        batch.map((s) =>
          notifier.notify(s, input.url, outcome).catch((err) => {
            log.warn('could not notify a subscriber', { chatId: s.chatId, error: String(err) });
          }),
        ),
      );
      if (subscribers.length > recorded) {
        const upTo = subscribers.length;
        await records.recordResult(input, outcome, subscribers.slice(recorded, upTo));
        recorded = upTo;
      }
    }
  });
  if (cancelled) throw cancelled;
  return outcome;

  async function waitForDiskSpace(): Promise<void> {
    try {
      await diskNow.checkDiskSpace(input);
      return;
    } catch (err) {
      const cause = err instanceof ActivityFailure ? err.cause : undefined;
      if (!(cause instanceof ApplicationFailure && cause.type === DISK_LOW)) throw err;
    }
    setState('waiting_for_disk');
    await disk.checkDiskSpace(input);
  }

  async function downloadWhenSpace(): Promise<DownloadOutcome> {
    for (let round = 1; ; round++) {
      try {
        await waitForDiskSpace();
      } catch (err) {
        if (isCancellation(err)) throw err;
        return { status: 'failed', ...describeFailure(err, 'disk', input.policy) };
      }
      setState('downloading');
      try {
        const file = await downloader.download(input);
        return { status: 'completed', fromCache: false, ...file };
      } catch (err) {
        if (isCancellation(err)) throw err;
        const failure = describeFailure(err, 'download', input.policy);
        if (failure.errorKind === 'DiskFull' && round < MAX_DISK_FULL_ROUNDS) {
          log.warn('disk filled up during the download; waiting for space', { round });
          setState('waiting_for_disk');
          continue;
        }
        return { status: 'failed', ...failure };
      }
    }
  }
}
