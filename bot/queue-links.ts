import { WorkflowIdReusePolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { findCompletedOnDisk } from '../lib/completed-downloads';
import { checkDestination, destinationPolicy, type Refusal } from '../lib/destinations';
import type { DownloadMode } from '../lib/download-state';
import type { IntakeReport } from '../lib/messages';
import { contentKeyFor, findLinkCandidates, parseMediaUrl, type MediaUrl } from '../lib/urls';
import {
  DOWNLOAD_WORKFLOW_TYPE,
  downloadWorkflowId,
  searchAttributes,
  subscribeSignal,
  type DownloadInput,
  type DownloadPolicy,
  type Subscriber,
} from '../workflows/definitions';
import type { downloadWorkflow } from '../workflows/download';
import type { BotDeps, BotSettings } from './context';

/**
 * How long the bot waits for Temporal per call. An unreachable server otherwise
 * holds each call for about 20 seconds while the bot's other users wait.
 */
const TEMPORAL_CALL_TIMEOUT_MS = 5_000;
/**
 * How long intake waits for DNS to say where the links' hosts lead. A name not
 * resolved by then is left to the worker, which checks again before downloading.
 */
const DESTINATION_CHECK_TIMEOUT_MS = 2_000;

export interface LinkRequest {
  text: string;
  /** Links hidden behind text (Telegram `text_link` entities). */
  extraUrls: string[];
  chatId: number;
  userId: number;
  messageId: number;
  correlationId: string;
  mode: DownloadMode;
}

export function downloadPolicy(s: BotSettings): DownloadPolicy {
  return {
    downloadTaskQueue: s.DOWNLOAD_TASK_QUEUE,
    maxRetries: s.MAX_RETRIES,
    retryBaseSeconds: s.RETRY_BASE_SECONDS,
    retryMaxSeconds: s.RETRY_MAX_SECONDS,
    diskRecheckSeconds: s.DISK_RECHECK_SECONDS,
    diskWaitHours: s.DISK_WAIT_HOURS,
    downloadTimeoutMinutes: s.DOWNLOAD_TIMEOUT_MINUTES,
    heartbeatTimeoutSeconds: s.HEARTBEAT_TIMEOUT_SECONDS,
  };
}

/**
 * Turns the links in one message into downloads: each valid link starts its
 * content-addressed workflow or joins the one already running; links already on
 * disk are answered at once; everything else is reported with its reason.
 */
export async function queueLinks(deps: BotDeps, request: LinkRequest): Promise<IntakeReport> {
  const { settings, logger } = deps;
  const report: IntakeReport = { queued: [], joined: [], alreadyDone: [], duplicates: [], rejected: [], failed: [], correlationId: request.correlationId };

  const candidates = [...new Set([...findLinkCandidates(request.text), ...request.extraUrls])];
  const accepted = candidates.slice(0, settings.MAX_URLS_PER_MESSAGE);
  for (const extra of candidates.slice(settings.MAX_URLS_PER_MESSAGE)) report.rejected.push({ input: extra, reason: 'too_many' });

  const unique = new Map<string, MediaUrl>();
  for (const candidate of accepted) {
    const parsed = parseMediaUrl(candidate, settings.MAX_URL_LENGTH);
    if (!parsed.ok) {
      report.rejected.push({ input: parsed.input, reason: parsed.reason });
      continue;
    }
    const key = contentKeyFor(parsed.url, request.mode);
    if (unique.has(key)) report.duplicates.push(parsed.url.original);
    else unique.set(key, parsed.url);
  }

  const refusals = await refusedDestinations(deps, [...unique]);
  for (const [key, refusal] of refusals) {
    const url = unique.get(key)!;
    logger.warn({ url: url.normalized, address: refusal.address, category: refusal.category }, 'link refused: private or internal destination');
    // Shown as parsed: "http://0x7f000001/" is echoed as http://127.0.0.1/.
    report.rejected.push({ input: url.normalized, reason: 'private_address', refusal });
    unique.delete(key);
  }

  const subscriber: Subscriber = {
    chatId: request.chatId,
    userId: request.userId,
    messageId: request.messageId,
    correlationId: request.correlationId,
  };
  // After the first outage of a service, the rest of the message does not wait for it again.
  let databaseDown = false;
  let temporalDown = false;
  for (const [contentKey, url] of unique) {
    const workflowId = downloadWorkflowId(contentKey);
    const log = logger.child({ workflowId, platform: url.platform });
    if (!databaseDown) {
      const onDisk = await findCompletedOnDisk(deps.db, settings.DOWNLOAD_DIR, contentKey).catch((err: unknown) => {
        // The database is a shortcut here, not a dependency: the workflow dedups too.
        log.warn({ err }, 'database lookup failed; queueing without it');
        databaseDown = true;
        return null;
      });
      if (onDisk) {
        log.info({ file: onDisk.filePath }, 'already downloaded; answered from the record');
        report.alreadyDone.push({ url: url.original, file: onDisk });
        continue;
      }
    }
    if (temporalDown) {
      report.failed.push(url.original);
      continue;
    }
    try {
      const deadline = () => Date.now() + TEMPORAL_CALL_TIMEOUT_MS;
      const running = await deps.temporal.withDeadline(deadline(), () => isRunning(deps.temporal, workflowId));
      await deps.temporal.withDeadline(deadline(), () =>
        startOrJoinDownload(deps.temporal, settings, { contentKey, url, mode: request.mode, correlationId: request.correlationId }, subscriber),
      );
      (running ? report.joined : report.queued).push(url.original);
      log.info({ url: url.normalized, joined: running }, running ? 'joined running download' : 'download queued');
    } catch (err) {
      log.error({ err }, 'could not queue download; not asking Temporal again for this message');
      report.failed.push(url.original);
      temporalDown = true;
    }
  }
  return report;
}

/** The links among `urls` that lead to private or internal addresses, checked in parallel within a deadline. */
async function refusedDestinations(deps: BotDeps, urls: Array<[string, MediaUrl]>): Promise<Map<string, Refusal>> {
  const policy = destinationPolicy(deps.settings);
  const checked = await Promise.all(
    urls.map(async ([key, url]) => {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), DESTINATION_CHECK_TIMEOUT_MS)));
      const refusal = await Promise.race([checkDestination(new URL(url.normalized).hostname, policy, deps.resolveHost), giveUp]);
      clearTimeout(timer);
      return [key, refusal] as const;
    }),
  );
  return new Map(checked.filter((entry): entry is readonly [string, Refusal] => entry[1] !== null));
}

/** Whether a download with this ID is running now; throws when Temporal cannot answer. */
async function isRunning(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    const description = await temporal.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * Starts the content-addressed download workflow, or adds `subscriber` to the
 * one already running for the same content.
 */
export async function startOrJoinDownload(
  temporal: Client,
  settings: BotSettings,
  what: { contentKey: string; url: MediaUrl; mode: DownloadMode; correlationId: string },
  subscriber: Subscriber,
): Promise<void> {
  const input: DownloadInput = {
    contentKey: what.contentKey,
    url: what.url.original,
    normalizedUrl: what.url.normalized,
    platform: what.url.platform,
    videoId: what.url.videoId,
    mode: what.mode,
    correlationId: what.correlationId,
    policy: downloadPolicy(settings),
  };
  // Signal-with-start: a running download gains a subscriber (one yt-dlp, everyone
  // told); otherwise a new run starts. ALLOW_DUPLICATE lets a finished download run
  // again when its file was deleted; the workflow's dedup step answers the rest.
  await temporal.workflow.signalWithStart<typeof downloadWorkflow, [Subscriber]>(DOWNLOAD_WORKFLOW_TYPE, {
    workflowId: downloadWorkflowId(what.contentKey),
    taskQueue: settings.TASK_QUEUE,
    args: [input],
    signal: subscribeSignal,
    signalArgs: [subscriber],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [
      { key: searchAttributes.DownloadState, value: 'queued' },
      { key: searchAttributes.Platform, value: what.url.platform },
      { key: searchAttributes.RequestedBy, value: [String(subscriber.userId)] },
      { key: searchAttributes.CorrelationId, value: what.correlationId },
    ],
    memo: { url: what.url.original, normalizedUrl: what.url.normalized },
  });
}
