import { createHash } from 'node:crypto';
import type { DownloadMode, Platform } from './definitions';
import { optionsKeyPart, type DownloadOptions } from './options';

export type { Platform };

/**
 * Everything about links in one place: finding them in a message, refusing the
 * ones we must not hand to yt-dlp, removing tracking noise, and recognising the
 * same video under its many URLs so that it is downloaded once.
 */


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

/*
 * Tracking parameters come in two lists on purpose. A name is stripped on every site only when
 * it means tracking wherever it appears: `utm_*`, ad-click IDs, analytics and mail-campaign IDs.
 * Short or generic names (`si`, `ref`, `t`, `feature`, `spm`, `pk_id`...) are share noise on the
 * platforms that add them, but on another site they can choose the content (`?ref=v2`, `?t=30`);
 * stripping them there would make two different downloads one. So they are stripped only on the
 * hosts that use them.
 */
const TRACKING_PARAMS_EVERYWHERE = new Set([
  // Ad-click IDs.
  'fbclid', 'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'msclkid', 'yclid', 'ysclid', 'twclid', 'ttclid',
  'li_fat_id', 'igshid',
  // Analytics cookies carried across domains, and mail-campaign IDs (Mailchimp, Marketo, Vero, Omeda, Webtrends).
  '_ga', '_gl', 'mc_cid', 'mc_eid', 'mkt_tok', 'vero_id', 'vero_conv', 'oly_anon_id', 'oly_enc_id', 'wt_mc',
  'soc_src', 'soc_trk',
  // Matomo and its former name Piwik: the campaign names only, not every `pk_`/`mtm_` name.
  'pk_campaign', 'pk_kwd', 'pk_keyword', 'pk_source', 'pk_medium', 'pk_content', 'pk_cid',
  'piwik_campaign', 'piwik_kwd', 'piwik_keyword',
  'mtm_campaign', 'mtm_kwd', 'mtm_keyword', 'mtm_source', 'mtm_medium', 'mtm_content', 'mtm_cid', 'mtm_group',
  'mtm_placement', 'matomo_campaign', 'matomo_keyword', 'matomo_source', 'matomo_medium', 'matomo_content',
  'matomo_cid', 'matomo_group', 'matomo_placement',
  // HubSpot e-mail and ads.
  '_hsenc', '_hsmi', '__hstc', '__hssc', '__hsfp', 'hsctatracking',
  'hsa_acc', 'hsa_ad', 'hsa_cam', 'hsa_grp', 'hsa_kw', 'hsa_la', 'hsa_mt', 'hsa_net', 'hsa_ol', 'hsa_src', 'hsa_tgt',
  'hsa_ver',
]);
const TRACKING_PREFIX_EVERYWHERE = 'utm_';

const X_DOMAINS = ['twitter.com', 'x.com', 'fxtwitter.com', 'vxtwitter.com', 'fixupx.com', 'fixvx.com'];

/** Share noise per site, stripped on these domains and their subdomains only; `*` ends a prefix. */
const SITE_TRACKING_PARAMS: ReadonlyArray<{ domains: readonly string[]; names: readonly string[] }> = [
  {
    domains: ['youtube.com', 'youtu.be', 'youtube-nocookie.com'],
    names: ['si', 'feature', 'pp', 'ab_channel', 'source_ve_path', 'embeds_referring_*'],
  },
  { domains: X_DOMAINS, names: ['s', 't', 'ref_src', 'ref_url'] },
  {
    domains: ['tiktok.com'],
    names: [
      '_r', '_t', 'u_code', 'preview_pb', 'language', 'timestamp', 'user_id', 'sec_user_id', 'tt_from', 'checksum',
      'share_app_id', 'share_item_id', 'share_link_id', 'sender_device', 'sender_web_id', 'is_from_webapp',
      'is_copy_url', 'web_id',
    ],
  },
  { domains: ['instagram.com'], names: ['igsh', 'img_index', 'hl'] },
  { domains: ['reddit.com', 'redd.it'], names: ['share_id', 'rdt', 'ref', 'ref_source', 'sh'] },
  // "Copy link" and the player's "from location / from element" analytics; `h` (the unlisted hash) stays.
  { domains: ['vimeo.com'], names: ['share', 'fl', 'fe'] },
  // Added to clip links handed out by Twitch's API and share menu.
  { domains: ['twitch.tv'], names: ['tt_medium', 'tt_content'] },
  {
    domains: ['facebook.com', 'fb.watch'],
    names: ['mibextid', 'rdid', 'share_url', 'sfnsn', 'ref', 'refsrc', 'paipv', 'eav', '__tn__', '__cft__*', '__xts__*'],
  },
];

function isOnDomain(host: string, domain: string): boolean {
  return host === domain || host.endsWith(`.${domain}`);
}

/** Decides, for one host, which query parameter names are tracking. Names compare case-insensitively. */
function trackingParamTest(host: string): (name: string) => boolean {
  const siteNames = SITE_TRACKING_PARAMS.filter(({ domains }) => domains.some((d) => isOnDomain(host, d))).flatMap(
    ({ names }) => names,
  );
  const exact = new Set(siteNames.filter((n) => !n.endsWith('*')));
  const prefixes = [TRACKING_PREFIX_EVERYWHERE, ...siteNames.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1))];
  return (name) => {
    const lower = name.toLowerCase();
    return TRACKING_PARAMS_EVERYWHERE.has(lower) || exact.has(lower) || prefixes.some((p) => lower.startsWith(p));
  };
}

const TRAILING_PUNCTUATION = new Set('.,;:!?\'"»>');
const OPENER_OF = new Map([[')', '('], [']', '['], ['}', '{']]);

/**
 * Removes punctuation that chat text glues to the end of a link ("see https://x.io/a)."). A
 * closing bracket is removed only while the link has more of them than openers, so
 * `wiki/Foo_(bar)` keeps its own. Each kind of bracket is counted once, then the end walks
 * back: linear time.
 */
function trimTrailingPunctuation(token: string): string {
  // Closers minus openers, per kind of closer, in what is left of the token.
  const surplus = new Map<string, number>();
  let end = token.length;
  for (; end > 0; end -= 1) {
    const last = token[end - 1]!;
    if (TRAILING_PUNCTUATION.has(last)) continue;
    const opener = OPENER_OF.get(last);
    if (!opener) break;
    // Counting the whole token is right even after some trimming: only punctuation and other
    // kinds of closer were removed before this kind is first counted.
    const unmatched = surplus.get(last) ?? count(token, last) - count(token, opener);
    if (unmatched <= 0) break;
    surplus.set(last, unmatched - 1);
  }
  return token.slice(0, end);
}

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i !== -1; i = text.indexOf(ch, i + 1)) n += 1;
  return n;
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
  const isTracking = trackingParamTest(host);
  // Rebuilt in one pass: deleting names one by one re-serializes the query each time (quadratic).
  // Array sort is stable and compares UTF-16 code units, exactly as URLSearchParams.sort does.
  const kept = [...parsed.searchParams].filter(([name]) => !isTracking(name));
  kept.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  parsed.search = new URLSearchParams(kept).toString();
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

/** How a platform writes one kind of ID, and how that ID becomes the key. */
interface IdKind {
  /** Must match the whole path segment or parameter value; group 1, when present, is the ID. */
  pattern: RegExp;
  /** Route words that sit where an ID would and have its shape but name another page. */
  reserved?: readonly string[];
  /** The ID as keyed: a prefix for a second ID space on the same platform, lower case where the site ignores case. */
  key?: (id: string) => string;
}

const YOUTUBE_VIDEO: IdKind = { pattern: /^[A-Za-z0-9_-]{11}$/, reserved: ['videoseries', 'live_stream'] };
const TWEET: IdKind = { pattern: /^\d{1,20}$/ };
// Post IDs are base36 and case-insensitive.
const REDDIT_POST: IdKind = { pattern: /^[a-z0-9]{4,12}$/i, key: (id) => id.toLowerCase() };
// v.redd.it names a media file, not a post: its IDs must never meet post IDs.
const REDDIT_MEDIA: IdKind = { pattern: /^[a-z0-9]{5,20}$/i, key: (id) => `media:${id}` };
// m.tiktok.com writes `/v/<id>.html`.
const TIKTOK_POST: IdKind = { pattern: /^(\d{8,25})(?:\.html)?$/ };
const INSTAGRAM_POST: IdKind = { pattern: /^[A-Za-z0-9_-]{5,40}$/, reserved: ['audio'] };
const VIMEO_VIDEO: IdKind = { pattern: /^\d{1,12}$/ };
const TWITCH_VOD: IdKind = { pattern: /^\d{1,15}$/ };
// The embedded player writes VODs as `?video=v<id>`.
const TWITCH_PLAYER_VOD: IdKind = { pattern: /^v?(\d{1,15})$/ };
const TWITCH_CLIP: IdKind = { pattern: /^[A-Za-z0-9_-]{1,100}$/, reserved: ['embed'], key: (slug) => `clip:${slug}` };

/**
 * Where each platform puts one video's ID. Hosts are compared after dropping a `www.`, `m.` or
 * `mobile.` prefix. In a shape, `{id}` is the ID, `{hash}` a Vimeo unlisted-video hash, `*` any one
 * segment (a user or collection name), `@*` one segment starting with `@`, a trailing `**` any
 * further segments, and `?name={id}` reads the ID from that query parameter. A URL that fits none
 * of its host's shapes (playlists, showcases, channels, profiles, audio pages) names no one video.
 */
const VIDEO_URL_RULES: ReadonlyArray<{
  platform: Exclude<Platform, 'generic'>;
  hosts: readonly string[];
  id: IdKind;
  shapes: readonly string[];
}> = [
  {
    platform: 'youtube',
    hosts: ['youtube.com', 'music.youtube.com', 'gaming.youtube.com', 'youtube-nocookie.com'],
    id: YOUTUBE_VIDEO,
    shapes: ['/watch?v={id}', '/shorts/{id}', '/embed/{id}', '/live/{id}', '/v/{id}', '/e/{id}'],
  },
  { platform: 'youtube', hosts: ['youtu.be'], id: YOUTUBE_VIDEO, shapes: ['/{id}'] },
  {
    platform: 'twitter',
    hosts: X_DOMAINS,
    id: TWEET,
    // `/i/status/<id>` is the first shape with the user "i". `/video/1` and `/photo/1` pick the
    // tweet's first media; a higher number picks another video, so it is not this key.
    shapes: [
      '/*/status/{id}',
      '/*/status/{id}/video/1',
      '/*/status/{id}/photo/1',
      '/i/web/status/{id}',
      '/i/web/status/{id}/video/1',
      '/i/web/status/{id}/photo/1',
      '/statuses/{id}',
    ],
  },
  {
    platform: 'reddit',
    hosts: ['reddit.com', 'old.reddit.com', 'new.reddit.com', 'np.reddit.com'],
    id: REDDIT_POST,
    // After the ID come the title slug and, on a comment's permalink, the comment: same post.
    shapes: ['/comments/{id}/**', '/r/*/comments/{id}/**', '/user/*/comments/{id}/**', '/u/*/comments/{id}/**'],
  },
  { platform: 'reddit', hosts: ['redd.it'], id: REDDIT_POST, shapes: ['/{id}'] },
  { platform: 'reddit', hosts: ['v.redd.it'], id: REDDIT_MEDIA, shapes: ['/{id}'] },
  {
    platform: 'tiktok',
    hosts: ['tiktok.com'],
    id: TIKTOK_POST,
    // Photo posts share the video posts' ID space; `/@user/video/<id>` of a photo post opens it too.
    shapes: ['/@*/video/{id}', '/@*/photo/{id}', '/share/video/{id}', '/v/{id}', '/embed/{id}', '/embed/v2/{id}'],
  },
  {
    platform: 'instagram',
    hosts: ['instagram.com'],
    id: INSTAGRAM_POST,
    // Stories have numeric media IDs (another ID space) and expire; they stay keyed by URL.
    shapes: [
      '/p/{id}/**',
      '/reel/{id}/**',
      '/reels/{id}/**',
      '/tv/{id}/**',
      '/*/p/{id}/**',
      '/*/reel/{id}/**',
      '/*/reels/{id}/**',
      '/*/tv/{id}/**',
    ],
  },
  {
    platform: 'vimeo',
    hosts: ['vimeo.com'],
    id: VIMEO_VIDEO,
    // A video inside a collection is keyed by the video; the collection alone fits no shape.
    shapes: [
      '/{id}',
      '/{id}/{hash}',
      '/channels/*/{id}',
      '/groups/*/videos/{id}',
      '/album/*/video/{id}',
      '/showcase/*/video/{id}',
    ],
  },
  { platform: 'vimeo', hosts: ['player.vimeo.com'], id: VIMEO_VIDEO, shapes: ['/video/{id}'] },
  {
    platform: 'twitch',
    hosts: ['twitch.tv', 'go.twitch.tv'],
    id: TWITCH_VOD,
    shapes: ['/videos/{id}', '/*/v/{id}', '/*/video/{id}'],
  },
  { platform: 'twitch', hosts: ['twitch.tv', 'go.twitch.tv'], id: TWITCH_CLIP, shapes: ['/*/clip/{id}', '/clip/{id}'] },
  { platform: 'twitch', hosts: ['clips.twitch.tv'], id: TWITCH_CLIP, shapes: ['/{id}', '/embed?clip={id}'] },
  { platform: 'twitch', hosts: ['player.twitch.tv'], id: TWITCH_PLAYER_VOD, shapes: ['/?video={id}'] },
  { platform: 'twitch', hosts: ['player.twitch.tv'], id: TWITCH_CLIP, shapes: ['/?clip={id}'] },
];

interface UrlShape {
  segments: readonly string[];
  /** More segments may follow the last one. */
  rest: boolean;
  /** The query parameter holding the ID, if the path does not. */
  param: string | null;
}

function compileShape(shape: string): UrlShape {
  const [path = '', query] = shape.split('?');
  const segments = path.split('/').filter(Boolean);
  const rest = segments.at(-1) === '**';
  if (rest) segments.pop();
  return { segments, rest, param: query ? query.replace('={id}', '') : null };
}

const COMPILED_RULES = VIDEO_URL_RULES.map((rule) => ({ ...rule, shapes: rule.shapes.map(compileShape) }));

const UNLISTED_HASH = /^[0-9a-f]{10}$/;

/**
 * Reads the ID a shape names. `undefined`: the URL does not have this shape. `null`: it has the
 * shape, but the ID's place holds no valid ID (or several), so the URL names no video.
 */
function readShape(shape: UrlShape, kind: IdKind, segments: readonly string[], query: URLSearchParams): string | null | undefined {
  if (segments.length < shape.segments.length || (!shape.rest && segments.length > shape.segments.length)) return undefined;
  let raw: string | undefined;
  for (const [i, want] of shape.segments.entries()) {
    const got = segments[i]!;
    if (want === '{id}') raw = got;
    else if (want === '{hash}') {
      if (!UNLISTED_HASH.test(got)) return undefined;
    } else if (want.endsWith('*')) {
      if (!got.startsWith(want.slice(0, -1))) return undefined;
    } else if (got !== want) return undefined;
  }
  if (shape.param) {
    const values = query.getAll(shape.param);
    if (values.length === 0) return undefined;
    if (values.length > 1) return null;
    raw = values[0];
  }
  if (raw === undefined) return null;
  // A route word where the ID would be (`/embed/videoseries`, `/reels/audio/...`) is another page.
  if (kind.reserved?.includes(raw.toLowerCase())) return undefined;
  const match = kind.pattern.exec(raw);
  if (!match) return null;
  const id = match[1] ?? match[0];
  return kind.key ? kind.key(id) : id;
}

/** The path's segments; null when it has an empty one (`a//b`), which no shape means. */
function pathSegments(pathname: string): string[] | null {
  const segments = pathname.replace(/\/$/, '').split('/').slice(1);
  return segments.includes('') ? null : segments;
}

/**
 * Reads the platform's own video ID from the URL shape, without any network call. Every shape of
 * the host is tried: if one fits with no valid ID, or two fit with different IDs, the URL is not
 * one known video and gets no ID (it is then keyed by its normalized self, which never collides).
 */
export function extractVideoId(url: URL): VideoIdMatch | null {
  const host = url.hostname.toLowerCase().replace(/\.$/, '').replace(/^(www|m|mobile)\./, '');
  const segments = pathSegments(url.pathname);
  if (!segments) return null;
  let found: VideoIdMatch | null = null;
  for (const rule of COMPILED_RULES) {
    if (!rule.hosts.includes(host)) continue;
    for (const shape of rule.shapes) {
      const videoId = readShape(shape, rule.id, segments, url.searchParams);
      if (videoId === undefined) continue;
      if (videoId === null || (found && found.videoId !== videoId)) return null;
      found = { platform: rule.platform, videoId };
    }
  }
  return found;
}

/**
 * The content address of a download: the same video in the same mode with the
 * same options always maps here. Default options add nothing, so keys made
 * before options existed still name the same downloads.
 */
export function contentKeyFor(url: Pick<MediaUrl, 'identity'>, mode: DownloadMode, options?: DownloadOptions): string {
  return createHash('sha256').update(`${url.identity}|${mode}${optionsKeyPart(options)}`).digest('hex');
}
