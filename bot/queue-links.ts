import { downloadWorkflowId, shortId, type DownloadMode } from '../domain/downloads/definitions';
import { checkDestination, destinationPolicy, type Refusal } from '../domain/downloads/destinations';
import { contentKeyFor, findLinkCandidates, parseMediaUrl, type MediaUrl } from '../domain/downloads/links';
import { describeOptions, settleOptions, type AskedOptions } from '../domain/downloads/options';
import type { Allowance } from '../domain/access/limits';
import { allows, describeSpan, type Role } from '../domain/access/roles';
import type { DownloadedFile, Subscriber } from '../domain/downloads/definitions';
import type { SentFile } from '../domain/downloads/sent-files';
import { mapWithLimit } from '../lib/concurrency';
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
  /** The sender's role: owners and admins have no per-user limits, trial users a daily quota. */
  role: Role;
  /** Options the command asked for (`/dl <link> 720p mkv`); the configured defaults fill the rest. */
  asked?: AskedOptions;
  /** Links taken from a .txt file rather than a message: MAX_URLS_PER_FILE caps them instead of MAX_URLS_PER_MESSAGE. */
  fromFile?: boolean;
  /** Who asked, as the Web UI shows them ("Alice (@alice)"). */
  requesterName?: string;
  /** `cli`: an operator's request through `npm run ops` (told by the CLI, not on Telegram). */
  via?: Subscriber['via'];
}

/**
 * What intake needs: the bot passes its own deps; the ops CLI passes these alone
 * (an operator has the owner's rights, so no per-user limit is ever taken).
 */
export type IntakeDeps = Pick<BotDeps, 'settings' | 'logger' | 'downloads' | 'limits' | 'resolveHost'>;

/** How many links of one message are looked up and started at once. */
const INTAKE_PARALLEL = 50;

type Outcome =
  | { kind: 'done'; file: DownloadedFile & { sent?: SentFile } }
  | { kind: 'started' | 'joined'; shortId: string; paused: boolean }
  | { kind: 'failed' }
  | { kind: 'limited' };

/**
 * Turns the links in one message into downloads, through the downloads client:
 * each valid link starts its content-addressed download or joins the one
 * already running; links already on disk are answered at once; the sender's
 * limits hold back the rest when they are reached; everything else is
 * reported with its reason. Links are looked up and started a few at a time.
 */
export async function queueLinks(deps: IntakeDeps, request: LinkRequest): Promise<IntakeReport> {
  const { settings, logger, downloads } = deps;
  const report: IntakeReport = {
    queued: [],
    joined: [],
    alreadyDone: [],
    duplicates: [],
    rejected: [],
    failed: [],
    limited: [],
    limitNotes: [],
    correlationId: request.correlationId,
    paused: false,
  };
  const settled = settleOptions(request.mode, request.asked ?? {}, {
    maxHeight: settings.MAX_VIDEO_QUALITY ?? undefined,
    container: settings.PREFERRED_FORMAT,
  });
  // A trial user's downloads are capped at TRIAL_MAX_FILE_SIZE: a download of its own (the cap is in the content key).
  const trialCap = request.role === 'trial' && settings.TRIAL_MAX_FILE_SIZE < settings.MAX_FILE_SIZE;
  const options = trialCap ? { ...settled, maxBytes: settings.TRIAL_MAX_FILE_SIZE } : settled;
  const described = [request.mode === 'audio' ? 'audio' : null, describeOptions(options) || null].filter(Boolean).join(', ');
  if (described) report.options = described;

  const candidates = [...new Set([...findLinkCandidates(request.text), ...request.extraUrls])];
  const cap = request.fromFile ? settings.MAX_URLS_PER_FILE : settings.MAX_URLS_PER_MESSAGE;
  const accepted = candidates.slice(0, cap);
  const overCap = candidates.slice(cap);
  for (const extra of overCap) report.rejected.push({ input: extra, reason: request.fromFile ? 'too_many_in_file' : 'too_many' });
  if (request.fromFile && overCap.length > 0)
    report.notes = [`The file has ${candidates.length} links; only the first ${cap} were taken (MAX_URLS_PER_FILE).`];

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

  const links = [...unique];
  const outcomes = new Array<Outcome | undefined>(links.length);
  // The database is a shortcut here, not a dependency (the workflow dedups too):
  // after its first failure the rest of the message does not wait for it.
  let databaseDown = false;
  await mapWithLimit(links, INTAKE_PARALLEL, async ([contentKey], i) => {
    if (databaseDown) return;
    const onDisk = await downloads.findCompleted(contentKey).catch((err: unknown) => {
      if (!databaseDown) logger.warn({ err, workflowId: downloadWorkflowId(contentKey) }, 'database lookup failed; queueing without it');
      databaseDown = true;
      return null;
    });
    if (onDisk) outcomes[i] = { kind: 'done', file: onDisk };
  });

  const toStart = links.map((_, i) => i).filter((i) => outcomes[i] === undefined);
  const { allowed, taken } = await allowedCount(deps, request, toStart.length, report);
  for (const i of toStart.slice(allowed)) outcomes[i] = { kind: 'limited' };

  const subscriber = {
    chatId: request.chatId,
    userId: request.userId,
    messageId: request.messageId,
    correlationId: request.correlationId,
    ...(request.via ? { via: request.via } : {}),
  };
  const starting = toStart.slice(0, allowed);
  // One list of the running downloads for the whole message, instead of a look per link (null: look per link).
  const running = starting.length > 1 ? await downloads.runningAmong(starting.map((i) => links[i]![0])) : null;
  // After Temporal's first failure, the rest of the message does not wait for it again.
  let temporalDown = false;
  await mapWithLimit(starting, INTAKE_PARALLEL, async (i) => {
    const [contentKey, url] = links[i]!;
    const log = logger.child({ workflowId: downloadWorkflowId(contentKey), platform: url.platform });
    if (temporalDown) return void (outcomes[i] = { kind: 'failed' });
    try {
      const started = await downloads.startOrJoin({
        contentKey,
        url,
        mode: request.mode,
        options,
        correlationId: request.correlationId,
        subscriber,
        requesterName: request.requesterName,
        ...(running ? { running: running.has(contentKey) } : {}),
      });
      outcomes[i] = { kind: started.outcome, shortId: started.shortId, paused: started.paused === true };
      log.info(
        { url: url.normalized, joined: started.outcome === 'joined', paused: started.paused },
        started.outcome === 'joined' ? 'joined running download' : 'download queued',
      );
    } catch (err) {
      if (!temporalDown) log.error({ err }, 'could not queue download; not asking Temporal again for this message');
      temporalDown = true;
      outcomes[i] = { kind: 'failed' };
    }
  });

  // Links that could not be started do not count against the sender's limits.
  const notStarted = starting.filter((i) => outcomes[i]?.kind === 'failed').length;
  for (const allowance of taken) await deps.limits.giveBack(allowance, notStarted);

  // The report lists links in the order they were sent, whatever order they finished in.
  links.forEach(([contentKey, url], i) => {
    const outcome = outcomes[i]!;
    if (outcome.kind === 'done') {
      logger.info(
        { workflowId: downloadWorkflowId(contentKey), file: outcome.file.filePath },
        'already downloaded; answered from the record',
      );
      report.alreadyDone.push({ url: url.original, shortId: shortId(contentKey), file: outcome.file });
    } else if (outcome.kind === 'failed') report.failed.push(url.original);
    else if (outcome.kind === 'limited') report.limited.push(url.original);
    else {
      (outcome.kind === 'joined' ? report.joined : report.queued).push({ url: url.original, shortId: outcome.shortId, contentKey });
      report.paused ||= outcome.paused;
    }
  });
  return report;
}

/**
 * How many of `wanted` links the sender may queue now: all of them for owners
 * and admins; for everyone else, what their active downloads (MAX_USER_ACTIVE),
 * their link rate (RATE_LIMIT_LINKS per RATE_LIMIT_WINDOW) and, for trial users,
 * their daily quota leave. Each limit that held links back adds a note saying why.
 */
async function allowedCount(
  deps: IntakeDeps,
  request: LinkRequest,
  wanted: number,
  report: IntakeReport,
): Promise<{ allowed: number; taken: Allowance[] }> {
  const { settings, limits, downloads, logger } = deps;
  const taken: Allowance[] = [];
  if (wanted === 0 || allows(request.role, 'admin')) return { allowed: wanted, taken };
  let allowed = wanted;
  if (settings.MAX_USER_ACTIVE > 0) {
    const active = await downloads.activeCountFor(request.userId).catch((err: unknown) => {
      logger.warn({ err }, 'could not count active downloads; the limit is not applied to this message');
      return 0;
    });
    const room = Math.max(0, settings.MAX_USER_ACTIVE - active);
    if (room < allowed) {
      report.limitNotes.push(
        `At most ${settings.MAX_USER_ACTIVE} of your downloads may be queued or running at once, and ${active} ${active === 1 ? 'is' : 'are'}; send the rest again when one ends.`,
      );
      allowed = room;
    }
  }
  if (allowed > 0 && settings.RATE_LIMIT_LINKS > 0) {
    const rate = await limits.takeRate(request.userId, allowed, settings.RATE_LIMIT_LINKS, settings.RATE_LIMIT_WINDOW);
    taken.push(rate);
    if (rate.granted < allowed)
      report.limitNotes.push(
        `You can send ${settings.RATE_LIMIT_LINKS} links per ${describeSpan(settings.RATE_LIMIT_WINDOW)}; try again in ${describeSpan(rate.resetsInSeconds)}.`,
      );
    allowed = rate.granted;
  }
  if (allowed > 0 && request.role === 'trial') {
    const daily = await limits.takeDaily(request.userId, allowed, settings.TRIAL_DAILY_DOWNLOADS);
    taken.push(daily);
    if (daily.granted < allowed) {
      report.limitNotes.push(
        `A trial allows ${settings.TRIAL_DAILY_DOWNLOADS} download${settings.TRIAL_DAILY_DOWNLOADS === 1 ? '' : 's'} a day; more tomorrow (in ${describeSpan(daily.resetsInSeconds)}).`,
      );
      // Links the quota held back were not sent on: they do not count against the rate.
      for (const earlier of taken.slice(0, -1)) await limits.giveBack(earlier, allowed - daily.granted);
    }
    allowed = daily.granted;
  }
  return { allowed, taken };
}

/** The links among `urls` that lead to private or internal addresses, checked in parallel within a deadline. */
async function refusedDestinations(deps: IntakeDeps, urls: Array<[string, MediaUrl]>): Promise<Map<string, Refusal>> {
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
