import { createHash } from 'node:crypto';
import type { DownloadMode } from './download-state';

/**
 * Everything about links in one place: finding them in a message, refusing the
 * ones we must not hand to yt-dlp, removing tracking noise, and recognising the
 * same video under its many URLs so that it is downloaded once.
 */

export type Platform =
  | 'youtube'
  | 'twitter'
  | 'reddit'
  | 'tiktok'
  | 'instagram'
  | 'vimeo'
  | 'twitch'
  | 'generic';

export interface MediaUrl {
  /** The link as the user sent it (trimmed). */
  original: string;
  /** http(s), lower-case host, no credentials, fragment or tracking parameters; what yt-dlp gets. */
  normalized: string;
  platform: Platform;
  /** The platform's own ID for the video, when the URL shape tells it. */
  videoId: string | null;
  /** What makes two links the same content: `platform:id` when known, else the normalized URL. */
  identity: string;
}

export type UrlRejection =
  | 'not_a_url'
  | 'unsupported_scheme'
  | 'leading_dash'
  | 'too_long'
  | 'has_credentials'
  | 'no_host'
  | 'has_whitespace';

export type ParsedUrl = { ok: true; url: MediaUrl } | { ok: false; input: string; reason: UrlRejection };

/** Plain-words reasons, shown to the user next to the rejected link. */
export const REJECTION_REASONS: Record<UrlRejection, string> = {
  not_a_url: 'this is not a valid link',
  unsupported_scheme: 'only http:// and https:// links are supported',
  leading_dash: 'links must not start with "-"',
  too_long: 'the link is too long',
  has_credentials: 'links with a user name or password are not accepted',
  no_host: 'the link has no host name',
  has_whitespace: 'the link contains spaces or control characters',
};

export const DEFAULT_MAX_URL_LENGTH = 2048;

// Query parameters that only track who shared what; they never change the content.
const TRACKING_PARAMS = new Set([
  'fbclid', 'gclid', 'dclid', 'gbraid', 'wbraid', 'msclkid', 'yclid', 'twclid', 'ttclid', 'li_fat_id',
  'mc_cid', 'mc_eid', 'igshid', 'igsh', 'si', 'feature', 'pp', 'ref', 'ref_src', 'ref_url',
  'share_id', 'share_app_id', 'share_item_id', 'share_link_id', 'sender_device', 'sender_web_id',
  'is_from_webapp', 'is_copy_url', 'web_id', 'rdt', '_ga', '_gl', 'spm', 'xmt', 'embeds_referring_euri',
  'embeds_referring_origin', 'ab_channel', 'wt_mc', 'cmpid', 'ocid', 'smid', 'soc_src', 'soc_trk',
]);
const TRACKING_PREFIXES = ['utm_', 'hsa_', 'mtm_', 'pk_', 'vero_', '__'];
// Some hosts add their own share noise under short names that mean something elsewhere.
const HOST_TRACKING_PARAMS: Array<[RegExp, string[]]> = [
  [/(^|\.)(twitter|x)\.com$/, ['s', 't', 'ref_src']],
  [/(^|\.)tiktok\.com$/, ['_r', '_t', 'u_code', 'preview_pb', 'language', 'timestamp', 'user_id', 'tt_from', 'checksum', 'sec_user_id']],
  [/(^|\.)instagram\.com$/, ['img_index', 'hl']],
  [/(^|\.)reddit\.com$/, ['share_id', 'utm_name', 'sh']],
];

function isTrackingParam(name: string, host: string): boolean {
  const lower = name.toLowerCase();
  if (TRACKING_PARAMS.has(lower)) return true;
  if (TRACKING_PREFIXES.some((p) => lower.startsWith(p))) return true;
  return HOST_TRACKING_PARAMS.some(([hostPattern, names]) => hostPattern.test(host) && names.includes(lower));
}

/** Removes punctuation that chat text glues to the end of a link ("see https://x.io/a)."). */
function trimTrailingPunctuation(token: string): string {
  let out = token;
  for (;;) {
    const last = out.at(-1);
    if (!last) return out;
    if ('.,;:!?\'"»>'.includes(last)) {
      out = out.slice(0, -1);
      continue;
    }
    const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
    const open = pairs[last];
    if (open && count(out, open) < count(out, last)) {
      out = out.slice(0, -1);
      continue;
    }
    return out;
  }
}

function count(text: string, ch: string): number {
  return text.split(ch).length - 1;
}

/**
 * Finds every link-like token in a message: anything with a scheme, and tokens
 * that smuggle one behind a dash. Rejected ones are returned too so the reply can
 * say why they were refused.
 */
export function findLinkCandidates(text: string): string[] {
  const out: string[] = [];
  for (const raw of text.split(/\s+/)) {
    const token = trimTrailingPunctuation(raw.replace(/^[(<[{'"«]+/, ''));
    if (!token) continue;
    if (/^-*[a-z][a-z0-9+.-]{1,20}:\/\//i.test(token) || /^-*(www\.)[^\s]+\.[a-z]{2,}/i.test(token)) out.push(token);
    else if (/^-*(javascript|data|file|mailto):/i.test(token)) out.push(token);
  }
  return out;
}

/** Validates and normalizes one link. Never throws. */
export function parseMediaUrl(input: string, maxLength = DEFAULT_MAX_URL_LENGTH): ParsedUrl {
  const trimmed = input.trim();
  const reject = (reason: UrlRejection): ParsedUrl => ({ ok: false, input: trimmed, reason });
  if (trimmed.length === 0) return reject('not_a_url');
  if (trimmed.length > maxLength) return reject('too_long');
  if (trimmed.startsWith('-')) return reject('leading_dash');
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/.test(trimmed)) return reject('has_whitespace');

  const withScheme = /^www\./i.test(trimmed) ? `https://${trimmed}` : trimmed;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(withScheme)?.[1]?.toLowerCase();
  if (!scheme) return reject('not_a_url');
  if (scheme !== 'http' && scheme !== 'https') return reject('unsupported_scheme');

  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    return reject('not_a_url');
  }
  if (parsed.username || parsed.password) return reject('has_credentials');
  if (!parsed.hostname || parsed.hostname === '.') return reject('no_host');

  parsed.hash = '';
  const host = parsed.hostname.toLowerCase().replace(/\.$/, '');
  for (const name of [...parsed.searchParams.keys()]) {
    if (isTrackingParam(name, host)) parsed.searchParams.delete(name);
  }
  parsed.searchParams.sort();
  let normalized = parsed.toString();
  if (parsed.search === '' && normalized.endsWith('?')) normalized = normalized.slice(0, -1);
  if (normalized.length > maxLength) return reject('too_long');

  const match = extractVideoId(parsed);
  const platform = match?.platform ?? 'generic';
  const videoId = match?.videoId ?? null;
  return {
    ok: true,
    url: {
      original: trimmed,
      normalized,
      platform,
      videoId,
      identity: videoId ? `${platform}:${videoId}` : normalized,
    },
  };
}

interface VideoIdMatch {
  platform: Exclude<Platform, 'generic'>;
  videoId: string;
}

const YOUTUBE_ID = /^[A-Za-z0-9_-]{11}$/;

/** Reads the platform's own video ID from the URL shape, without any network call. */
export function extractVideoId(url: URL): VideoIdMatch | null {
  const host = url.hostname.toLowerCase().replace(/\.$/, '').replace(/^(www|m|mobile)\./, '');
  const segments = url.pathname.split('/').filter(Boolean);
  const first = segments[0] ?? '';

  if (['youtube.com', 'music.youtube.com', 'youtube-nocookie.com', 'gaming.youtube.com'].includes(host)) {
    const fromQuery = url.searchParams.get('v');
    if (first === 'watch' && fromQuery && YOUTUBE_ID.test(fromQuery)) return { platform: 'youtube', videoId: fromQuery };
    if (['shorts', 'embed', 'live', 'v', 'e'].includes(first) && segments[1] && YOUTUBE_ID.test(segments[1])) {
      return { platform: 'youtube', videoId: segments[1] };
    }
    return null;
  }
  if (host === 'youtu.be') {
    return first && YOUTUBE_ID.test(first) ? { platform: 'youtube', videoId: first } : null;
  }

  if (['twitter.com', 'x.com', 'fxtwitter.com', 'vxtwitter.com', 'fixupx.com'].includes(host)) {
    const i = segments.indexOf('status');
    const id = i >= 0 ? segments[i + 1] : undefined;
    return id && /^\d{1,20}$/.test(id) ? { platform: 'twitter', videoId: id } : null;
  }

  if (['reddit.com', 'old.reddit.com', 'new.reddit.com', 'np.reddit.com'].includes(host)) {
    const i = segments.indexOf('comments');
    const id = i >= 0 ? segments[i + 1] : undefined;
    return id && /^[a-z0-9]{4,12}$/i.test(id) ? { platform: 'reddit', videoId: id.toLowerCase() } : null;
  }
  if (host === 'redd.it') {
    return /^[a-z0-9]{4,12}$/i.test(first) ? { platform: 'reddit', videoId: first.toLowerCase() } : null;
  }

  if (host === 'tiktok.com' || host.endsWith('.tiktok.com')) {
    const i = segments.findIndex((s) => s === 'video' || s === 'v' || s === 'v2');
    const candidate = i >= 0 ? segments[i + 1]?.replace(/\.html$/, '') : undefined;
    return candidate && /^\d{8,25}$/.test(candidate) ? { platform: 'tiktok', videoId: candidate } : null;
  }

  if (host === 'instagram.com') {
    const i = segments.findIndex((s) => ['p', 'reel', 'reels', 'tv'].includes(s));
    const code = i >= 0 ? segments[i + 1] : undefined;
    return code && /^[A-Za-z0-9_-]{5,40}$/.test(code) ? { platform: 'instagram', videoId: code } : null;
  }

  if (host === 'vimeo.com' || host === 'player.vimeo.com') {
    const id = segments.find((s) => /^\d{5,12}$/.test(s));
    return id ? { platform: 'vimeo', videoId: id } : null;
  }

  if (host === 'twitch.tv' || host === 'clips.twitch.tv') {
    if (host === 'clips.twitch.tv' && first && /^[A-Za-z0-9_-]+$/.test(first)) return { platform: 'twitch', videoId: `clip:${first}` };
    const v = segments.findIndex((s) => s === 'videos' || s === 'v');
    const id = v >= 0 ? segments[v + 1] : undefined;
    if (id && /^\d{5,15}$/.test(id)) return { platform: 'twitch', videoId: id };
    const c = segments.indexOf('clip');
    const slug = c >= 0 ? segments[c + 1] : undefined;
    return slug && /^[A-Za-z0-9_-]+$/.test(slug) ? { platform: 'twitch', videoId: `clip:${slug}` } : null;
  }
  return null;
}

/** The content address of a download: the same video in the same mode always maps here. */
export function contentKeyFor(url: Pick<MediaUrl, 'identity'>, mode: DownloadMode): string {
  return createHash('sha256').update(`${url.identity}|${mode}`).digest('hex');
}
