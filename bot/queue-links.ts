import { downloadWorkflowId, shortId, type DownloadMode } from '../domain/downloads/definitions';
import { checkDestination, destinationPolicy, type Refusal } from '../domain/downloads/destinations';
import { contentKeyFor, findLinkCandidates, parseMediaUrl, type MediaUrl } from '../domain/downloads/links';
import { describeOptions, settleOptions, type AskedOptions } from '../domain/downloads/options';
import type { BotDeps } from './context';
import type { IntakeReport } from './replies';

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
  /** Options the command asked for (`/dl <link> 720p mkv`); the configured defaults fill the rest. */
  asked?: AskedOptions;
}

/**
 * Turns the links in one message into downloads, through the downloads client:
 * each valid link starts its content-addressed download or joins the one
 * already running; links already on disk are answered at once; everything else
 * is reported with its reason.
 */
export async function queueLinks(deps: BotDeps, request: LinkRequest): Promise<IntakeReport> {
  const { settings, logger, downloads } = deps;
  const report: IntakeReport = {
    queued: [],
    joined: [],
    alreadyDone: [],
    duplicates: [],
    rejected: [],
    failed: [],
    correlationId: request.correlationId,
    paused: false,
  };
  const options = settleOptions(request.mode, request.asked ?? {}, {
    maxHeight: settings.MAX_VIDEO_QUALITY ?? undefined,
    container: settings.PREFERRED_FORMAT,
  });
  const described = [request.mode === 'audio' ? 'audio' : null, describeOptions(options) || null].filter(Boolean).join(', ');
  if (described) report.options = described;

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
    const key = contentKeyFor(parsed.url, request.mode, options);
    if (unique.has(key)) report.duplicates.push(parsed.url.original);
    else unique.set(key, parsed.url);
  }

  const refusals = await refusedDestinations(deps, [...unique]);
  for (const [key, refusal] of refusals) {
    const url = unique.get(key)!;
    logger.warn(
      { url: url.normalized, address: refusal.address, category: refusal.category },
      'link refused: private or internal destination',
    );
    // Shown as parsed: "http://0x7f000001/" is echoed as http://127.0.0.1/.
    report.rejected.push({ input: url.normalized, reason: 'private_address', refusal });
    unique.delete(key);
  }

  const subscriber = { chatId: request.chatId, userId: request.userId, messageId: request.messageId, correlationId: request.correlationId };
  // After the first outage of a service, the rest of the message does not wait for it again.
  let databaseDown = false;
  let temporalDown = false;
  for (const [contentKey, url] of unique) {
    const log = logger.child({ workflowId: downloadWorkflowId(contentKey), platform: url.platform });
    if (!databaseDown) {
      const onDisk = await downloads.findCompleted(contentKey).catch((err: unknown) => {
        // The database is a shortcut here, not a dependency: the workflow dedups too.
        log.warn({ err }, 'database lookup failed; queueing without it');
        databaseDown = true;
        return null;
      });
      if (onDisk) {
        log.info({ file: onDisk.filePath }, 'already downloaded; answered from the record');
        report.alreadyDone.push({ url: url.original, shortId: shortId(contentKey), file: onDisk });
        continue;
      }
    }
    if (temporalDown) {
      report.failed.push(url.original);
      continue;
    }
    try {
      const started = await downloads.startOrJoin({
        contentKey,
        url,
        mode: request.mode,
        options,
        correlationId: request.correlationId,
        subscriber,
      });
      (started.outcome === 'joined' ? report.joined : report.queued).push({ url: url.original, shortId: started.shortId });
      report.paused ||= started.paused === true;
      log.info(
        { url: url.normalized, joined: started.outcome === 'joined', paused: started.paused },
        started.outcome === 'joined' ? 'joined running download' : 'download queued',
      );
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
