import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import { checkDestination, describeRefusal, type Refusal } from '../../domain/downloads/destinations';
import { isDiskFullError, make, type ErrorKind } from '../../domain/downloads/errors';
import { BatchedFile } from '../../lib/batched-file';
import { Http1Exchange } from '../../lib/http1-client';
import { truncate } from '../../lib/text';
import type { ActivityDeps } from '../deps';
import { ALLOWED_EXTENSIONS, SUBTITLE_EXTENSIONS } from '../file-names';
import type { Progress } from '../ytdlp';
import { SourceFailure, type DownloadSource, type SourceLink } from './source';

/**
 * Plain media files (a `.mp4` on a web server, a podcast's `.mp3`) fetched by
 * the worker itself: no extractor to start, a stream straight to disk. Resumes
 * with a Range request (If-Range guards against a file that changed meanwhile),
 * checks the announced size and type before the body, refuses web pages, and
 * connects only to addresses the destination policy allows, on every redirect.
 */

/** What the direct source uses. */
export type DirectHttpDeps = Pick<ActivityDeps, 'destinations' | 'resolveHost' | 'proxyResolvesHosts' | 'socketTimeoutSeconds'>;

const MEDIA_EXTENSIONS = new Set([...ALLOWED_EXTENSIONS].filter((ext) => !SUBTITLE_EXTENSIONS.has(ext)));
/** Content types of media files, and the generic ones servers send for any file. */
const MEDIA_TYPES = /^(video|audio)\/|^application\/(octet-stream|mp4|ogg|x-matroska)$|^binary\/octet-stream$/;
/** Extensions for files whose link has none of its own, by content type. */
const EXTENSION_BY_TYPE: Record<string, string> = {
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/x-matroska': 'mkv',
  'video/quicktime': 'mov',
  'video/mp2t': 'ts',
  'video/ogg': 'ogv',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/flac': 'flac',
  'audio/wav': 'wav',
  'audio/webm': 'weba',
};
const MAX_REDIRECTS = 5;
/** How long the look that decides whether a link is a plain file may take. */
const HEAD_TIMEOUT_MS = 5_000;
/** Progress reported at most this often (heartbeats are throttled further by the activity). */
const PROGRESS_EVERY_MS = 500;
/** The socket's reads are gathered into writes of this size (two at most held per download). */
const WRITE_BATCH_BYTES = 1024 * 1024;

/** The extension of the link's last path segment when it is a media file's, else null. */
export function mediaExtensionOf(url: string): string | null {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  const dot = last.lastIndexOf('.');
  const ext = dot > 0 ? last.slice(dot + 1).toLowerCase() : '';
  return MEDIA_EXTENSIONS.has(ext) ? ext : null;
}

/** A media content type (parameters dropped, lower case), or null for a page, a document, an image... */
export function isMediaType(contentType: string | undefined): boolean {
  if (!contentType) return true; // nothing announced: the file's own first bytes decide later
  return MEDIA_TYPES.test(contentType.split(';')[0]!.trim().toLowerCase());
}

/** The file name's stem and a title for people, from the link's last path segment. */
export function namesFromUrl(url: string): { stem: string; title: string } {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    // Not valid percent-encoding: the raw segment is the name.
  }
  const dot = decoded.lastIndexOf('.');
  const bare = dot > 0 ? decoded.slice(0, dot) : decoded;
  // As yt-dlp's --restrict-filenames: ASCII letters, digits and a little punctuation.
  const stem = bare
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._-]+/, '')
    .slice(0, 120);
  return { stem: stem || 'download', title: truncate(bare.trim() || 'download', 300) };
}

class RefusedDestination extends Error {
  constructor(readonly refusal: Refusal) {
    super(describeRefusal(refusal));
  }
}

/**
 * A DNS lookup that hands the connection only addresses the policy allows, so a
 * name cannot pass the check and then resolve somewhere else for the connection.
 */
function guardedLookup(deps: DirectHttpDeps): LookupFunction {
  return (hostname, options, callback) => {
    const done = callback as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
    deps
      .resolveHost(hostname)
      .then(async (addresses) => {
        const refusal = await checkDestination(hostname, deps.destinations, async () => addresses, { failClosed: true });
        if (refusal) throw new RefusedDestination(refusal);
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => net.isIP(a) === options.family) : addresses;
        if (wanted.length === 0) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
        if (options.all)
          done(
            null,
            wanted.map((address) => ({ address, family: net.isIP(address) })),
          );
        else done(null, wanted[0]!, net.isIP(wanted[0]!));
      })
      .catch((err: NodeJS.ErrnoException) => done(err, ''));
  };
}

/** A response whose body has not been read yet. */
export interface Answer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  /** Where the body comes from, after redirects. */
  url: string;
  /** Reads the body into the file; `onBytes` hears of each arrival's size. */
  saveTo(file: BatchedFile, onBytes: (n: number) => void): Promise<void>;
  /** Gives the body up (with `err`, a `saveTo` under way rejects with it). */
  discard(err?: Error): void;
}

interface RequestOptions {
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  signal: AbortSignal;
  timeoutMs: number;
}

/**
 * Plain http goes through our own client, which reads into the file's buffers
 * (lib/http1-client.ts: no allocation per read); https through Node's.
 */
async function send(target: URL, options: RequestOptions, lookup: LookupFunction): Promise<Answer> {
  const headers = { 'user-agent': 'mediadl', ...options.headers };
  if (target.protocol === 'http:') {
    const exchange = await Http1Exchange.open(target, { ...options, headers, lookup });
    return {
      status: exchange.status,
      headers: exchange.headers,
      url: target.toString(),
      saveTo: (file, onBytes) => exchange.saveTo(file, onBytes),
      discard: (err) => exchange.destroy(err),
    };
  }
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = https.request(target, { method: options.method, headers, lookup, signal: options.signal }, resolve);
    req.setTimeout(options.timeoutMs, () => req.destroy(Object.assign(new Error('the server stopped answering'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end();
  });
  return answerFromNode(res, target);
}

/** A response from Node's client: its chunks are copied into the file. */
export function answerFromNode(res: http.IncomingMessage, target: URL): Answer {
  return {
    status: res.statusCode ?? 0,
    headers: res.headers as Record<string, string | undefined>,
    url: target.toString(),
    async saveTo(file, onBytes) {
      // A failed write stops the response at once, even while no chunk is arriving.
      file.onFailure((err) => res.destroy(err));
      for await (const chunk of res as AsyncIterable<Buffer>) {
        onBytes(chunk.length);
        await file.append(chunk);
      }
    },
    discard: (err) => res.destroy(err),
  };
}

/** One request with redirects followed by hand: every hop's destination is checked again. */
async function request(deps: DirectHttpDeps, start: string, options: RequestOptions): Promise<Answer> {
  const lookup = guardedLookup(deps);
  let url = start;
  for (let hop = 0; ; hop++) {
    const target = new URL(url);
    if (target.protocol !== 'http:' && target.protocol !== 'https:')
      throw new SourceFailure(make('Unsupported', `a redirect led to ${target.protocol} (only http and https are fetched)`));
    // Literal addresses never reach the lookup: judge them by their text. A name is
    // judged once, by the guarded lookup, on the addresses the connection will use.
    const literal = net.isIP(target.hostname.replace(/^\[|\]$/g, '')) !== 0;
    const byText = literal ? await checkDestination(target.hostname, deps.destinations, async () => [], { failClosed: true }) : null;
    if (byText) throw new RefusedDestination(byText);
    const answer = await send(target, options, lookup);
    const location = answer.headers.location;
    if (answer.status >= 300 && answer.status < 400 && location) {
      answer.discard();
      if (hop >= MAX_REDIRECTS) throw new SourceFailure(make('Unsupported', `more than ${MAX_REDIRECTS} redirects`));
      url = new URL(location, url).toString();
      continue;
    }
    return answer;
  }
}

/** The failure for an HTTP status the download cannot go on from. */
function statusFailure(status: number, url: string): SourceFailure {
  const kind: ErrorKind =
    status === 404 || status === 410
      ? 'NotFound'
      : status === 429
        ? 'RateLimited'
        : status === 401 || status === 403 || status === 451
          ? 'Forbidden'
          : status >= 500
            ? 'ServerError'
            : 'Unsupported';
  return new SourceFailure(make(kind, `HTTP Error ${status} from ${new URL(url).host}`));
}

/** Network and disk errors, in the kinds the rest of the system knows. */
function classifyError(err: unknown): SourceFailure {
  if (err instanceof SourceFailure) return err;
  if (err instanceof RefusedDestination) {
    const classified = make('PrivateAddress', err.message);
    return new SourceFailure(classified, classified.detail);
  }
  const code = (err as NodeJS.ErrnoException)?.code ?? '';
  const message = err instanceof Error ? err.message : String(err);
  if (isDiskFullError(err)) return new SourceFailure(make('DiskFull', message));
  return new SourceFailure(make('Network', `${code ? `${code}: ` : ''}${message}`));
}

interface ResumeState {
  /** The first response's ETag (strong) or Last-Modified: a resumed request asks for the rest only if the file is still the same. */
  validator: string | null;
}

export function createDirectHttpSource(deps: DirectHttpDeps): DownloadSource {
  const timeoutMs = deps.socketTimeoutSeconds * 1000;

  async function looksLikeMedia(link: SourceLink): Promise<boolean> {
    try {
      const answer = await request(deps, link.url, {
        method: 'HEAD',
        headers: {},
        signal: AbortSignal.timeout(HEAD_TIMEOUT_MS),
        timeoutMs: HEAD_TIMEOUT_MS,
      });
      answer.discard();
      const type = answer.headers['content-type'];
      return answer.status === 200 && type !== undefined && /^(video|audio)\//i.test(type);
    } catch {
      return false; // yt-dlp will try, and say what is wrong
    }
  }

  return {
    name: 'direct',

    async accepts(link) {
      // Node does not go through HTTP(S)_PROXY: with a proxy, yt-dlp (which does) fetches everything.
      if (link.platform !== 'generic' || deps.proxyResolvesHosts) return false;
      // The file as served: audio extraction, a height cap or another container need yt-dlp and ffmpeg.
      if (link.mode === 'audio' || Object.keys(link.options ?? {}).length > 0) return false;
      return mediaExtensionOf(link.url) !== null || (await looksLikeMedia(link));
    },

    async probe(link) {
      return { kind: 'single', title: namesFromUrl(link.url).title };
    },

    async download(job) {
      const url = job.input.normalizedUrl;
      const { stem, title } = namesFromUrl(url);
      const part = path.join(job.incompleteDir, `direct-${job.suffix}.part`);
      const stateFile = path.join(job.incompleteDir, `direct-${job.suffix}.state.json`);
      let have = await fsp.stat(part).then(
        (s) => s.size,
        () => 0,
      );
      const saved = have > 0 ? await readState(stateFile) : null;
      // Without an ETag or Last-Modified to ask If-Range with, a changed file would be
      // spliced onto the old bytes: such a partial file is started over.
      if (have > 0 && !saved?.validator) {
        await fsp.rm(part, { force: true });
        have = 0;
      }
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (have > 0) {
        headers.range = `bytes=${have}-`;
        if (saved?.validator) headers['if-range'] = saved.validator;
      }

      let response: Answer;
      try {
        response = await request(deps, url, { method: 'GET', headers, signal: job.signal, timeoutMs });
      } catch (err) {
        throw classifyError(err);
      }
      const status = response.status;
      const type = response.headers['content-type'];
      let offset = 0;
      if (status === 416 && have > 0) {
        // Asked for bytes past the end: the partial file is complete only if the server says so.
        response.discard();
        const total = /\/(\d+)$/.exec(response.headers['content-range'] ?? '')?.[1];
        if (total !== undefined && Number(total) === have) return finish();
        await fsp.rm(part, { force: true });
        throw new SourceFailure(make('Network', 'the server no longer serves the rest of the file; starting over'));
      }
      // For a 206, Content-Range names the part sent and the whole file's size.
      const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers['content-range'] ?? '');
      if (status === 206) {
        const whole = range?.[3] === '*' ? null : Number(range?.[3]);
        const asked = range !== null && Number(range[1]) === have && (whole === null || Number(range[2]) === whole - 1);
        if (!asked) {
          response.discard();
          await fsp.rm(part, { force: true });
          throw new SourceFailure(make('Network', 'the server sent another part of the file than asked for; starting over'));
        }
        offset = have;
      } else if (status !== 200) {
        response.discard();
        throw statusFailure(status, response.url);
      }
      if (!isMediaType(type)) {
        response.discard();
        const shown = String(type).split(';')[0]!.trim().slice(0, 100);
        const classified = make('NotMedia', `the server answered with ${shown} instead of a media file`);
        throw new SourceFailure(classified, `the link answers with ${shown} (a web page or a document), not a media file`);
      }
      const length = response.headers['content-length'] !== undefined ? Number(response.headers['content-length']) : null;
      const whole = status === 206 && range && range[3] !== '*' ? Number(range[3]) : null;
      const total = whole ?? (length !== null && Number.isFinite(length) ? offset + length : null);
      if (total !== null && total > job.maxBytes) {
        response.discard();
        await fsp.rm(part, { force: true });
        throw new SourceFailure(make('TooLarge', `the server announced ${total} bytes`));
      }
      if (offset === 0) {
        const etag = response.headers.etag;
        try {
          await writeState(stateFile, { validator: etag && !etag.startsWith('W/') ? etag : (response.headers['last-modified'] ?? null) });
        } catch (err) {
          response.discard();
          throw classifyError(err);
        }
      }

      let written = offset;
      let reportedAt = 0;
      let reportedBytes = offset;
      const report = (status: Progress['status']) => {
        const now = Date.now();
        const speed = reportedAt ? ((written - reportedBytes) * 1000) / Math.max(1, now - reportedAt) : null;
        reportedAt = now;
        reportedBytes = written;
        job.onProgress({
          status,
          percent: total ? Math.round((written / total) * 1000) / 10 : null,
          downloadedBytes: written,
          totalBytes: total,
          speed: speed === null ? null : Math.round(speed),
          etaSeconds: total && speed ? Math.round((total - written) / speed) : null,
        });
      };
      report('downloading');
      const count = (bytes: number) => {
        written += bytes;
        // A stream without a size (or lying about it) is stopped the moment it passes the limit.
        if (written > job.maxBytes) response.discard(new SourceFailure(make('TooLarge', `more than ${job.maxBytes} bytes arrived`)));
        else if (Date.now() - reportedAt >= PROGRESS_EVERY_MS) report('downloading');
      };
      let file: BatchedFile;
      try {
        file = await BatchedFile.open(part, { append: offset > 0, batchBytes: WRITE_BATCH_BYTES });
      } catch (err) {
        response.discard();
        throw classifyError(err);
      }
      let failure: unknown = null;
      await response.saveTo(file, count).catch((err: unknown) => void (failure = err));
      // What arrived is written and the file closed, whatever stopped the transfer: the
      // next attempt resumes after those bytes, so this one ends only once they are on disk.
      const writeError = await file.close();
      // A disk that filled up is what to report, whatever else stopped the transfer.
      if (isDiskFullError(writeError)) throw classifyError(writeError);
      if (failure !== null) {
        if (job.signal.aborted) throw new SourceFailure(make('Interrupted', 'the download was stopped'));
        throw classifyError(failure);
      }
      if (writeError) throw classifyError(writeError);
      if (total !== null && written !== total)
        throw new SourceFailure(make('Network', `the connection ended after ${written} of ${total} bytes`));
      report('finished');
      return finish();

      async function finish() {
        const extension = mediaExtensionOf(url) ?? EXTENSION_BY_TYPE[String(type).split(';')[0]!.trim().toLowerCase()] ?? 'bin';
        const target = path.join(job.targetDir, `${stem}-${job.suffix}.${extension}`);
        await fsp.mkdir(job.targetDir, { recursive: true });
        await fsp.rename(part, target);
        await fsp.rm(stateFile, { force: true });
        return { path: target, title };
      }
    },
  };
}

async function readState(file: string): Promise<ResumeState | null> {
  try {
    const value = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<ResumeState>;
    return { validator: typeof value.validator === 'string' ? value.validator : null };
  } catch {
    return null;
  }
}

async function writeState(file: string, state: ResumeState): Promise<void> {
  await fsp.writeFile(file, JSON.stringify(state));
}
