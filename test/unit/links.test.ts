import fc from 'fast-check';
import {
  DEFAULT_MAX_URL_LENGTH,
  REJECTION_REASONS,
  contentKeyFor,
  findLinkCandidates,
  parseMediaUrl,
  type MediaUrl,
  type Platform,
  type UrlRejection,
} from '../../domain/downloads/links';
import { expectLinearTime } from '../support/linear-time';

/** Parses a link that must be accepted, failing the test with the reason otherwise. */
function accepted(input: string): MediaUrl {
  const result = parseMediaUrl(input);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(input)} to be accepted, got ${result.reason}`);
  return result.url;
}

function rejectionOf(input: string, maxLength?: number): UrlRejection | 'accepted' {
  const result = parseMediaUrl(input, maxLength);
  return result.ok ? 'accepted' : result.reason;
}

const RICK = 'dQw4w9WgXcQ';

describe('parseMediaUrl rejects links that must not reach yt-dlp', () => {
  test.each<[string, string, UrlRejection]>([
    ['ftp scheme', 'ftp://example.com/video.mp4', 'unsupported_scheme'],
    ['javascript scheme', 'javascript:alert(1)', 'unsupported_scheme'],
    ['javascript scheme in mixed case', 'JavaScript:alert(document.cookie)', 'unsupported_scheme'],
    ['javascript scheme dressed as a URL', 'javascript://example.com/%0Aalert(1)', 'unsupported_scheme'],
    ['file scheme', 'file:///etc/passwd', 'unsupported_scheme'],
    ['data scheme', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', 'unsupported_scheme'],
    ['mailto scheme', 'mailto:someone@example.com', 'unsupported_scheme'],
    ['rtmp scheme', 'rtmp://live.example.com/app/stream', 'unsupported_scheme'],
    ['a dash before an https link', '-https://x.com', 'leading_dash'],
    ['a yt-dlp option', '--exec=foo', 'leading_dash'],
    ['a short yt-dlp option with a path', '-o/tmp/evil.sh', 'leading_dash'],
    ['two dashes before a YouTube link', `--https://youtu.be/${RICK}`, 'leading_dash'],
    ['user name and password', 'https://user:pass@example.com/', 'has_credentials'],
    ['user name only', 'https://user@example.com/', 'has_credentials'],
    ['password only', 'https://:hunter2@example.com/video', 'has_credentials'],
    ['user name with an empty password', 'https://user:@example.com/video', 'has_credentials'],
    ['a space inside', 'https://example.com/a b', 'has_whitespace'],
    ['a space in the host', 'https://exa mple.com/', 'has_whitespace'],
    ['a tab inside', 'https://example.com/a\tb', 'has_whitespace'],
    ['a newline inside', 'https://example.com/a\nhttps://evil.com', 'has_whitespace'],
    ['a NUL byte', 'https://example.com/a\u0000b', 'has_whitespace'],
    ['a BEL control character', 'https://example.com/\u0007', 'has_whitespace'],
    ['a DEL character', 'https://example.com/a\u007fb', 'has_whitespace'],
    ['a no-break space', 'https://example.com/a\u00a0b', 'has_whitespace'],
    ['a plain word', 'garbage', 'not_a_url'],
    ['a host without a scheme', 'example.com/video', 'not_a_url'],
    ['an empty string', '', 'not_a_url'],
    ['only whitespace', '   \t ', 'not_a_url'],
    ['a scheme with nothing after it', 'https://', 'not_a_url'],
    ['a scheme with an empty authority', 'http:///', 'not_a_url'],
    ['a missing scheme name', '://example.com/video', 'not_a_url'],
    ['an unterminated IPv6 host', 'http://[::1/video', 'not_a_url'],
    ['a host that is only a dot', 'https://./video', 'no_host'],
  ])('rejects %s (%j) as %s', (_what, input, reason) => {
    const result = parseMediaUrl(input);
    expect(result).toEqual({ ok: false, input: input.trim(), reason });
  });

  test('every rejection reason has a plain-words explanation', () => {
    const reasons: UrlRejection[] = [
      'not_a_url',
      'unsupported_scheme',
      'leading_dash',
      'too_long',
      'has_credentials',
      'no_host',
      'has_whitespace',
    ];
    for (const reason of reasons) expect(REJECTION_REASONS[reason]).toMatch(/^[a-z].{9,}/);
  });

  test('rejects a link longer than the default limit of 2048 characters as too_long', () => {
    const base = 'https://example.com/';
    const exactly = base + 'a'.repeat(DEFAULT_MAX_URL_LENGTH - base.length);
    expect(exactly).toHaveLength(2048);
    expect(rejectionOf(exactly)).toBe('accepted');
    expect(rejectionOf(`${exactly}a`)).toBe('too_long');
  });

  test('rejects a link longer than a configured maxLength as too_long', () => {
    expect(rejectionOf('https://example.com/abcdefghij', 30)).toBe('accepted');
    expect(rejectionOf('https://example.com/abcdefghijk', 30)).toBe('too_long');
  });

  test('rejects a link that only becomes too long once the host is punycode-encoded', () => {
    // 24 characters as typed, 32 once "exämple" becomes "xn--exmple-cua".
    const input = 'https://exämple.com/abcd';
    expect(input.length).toBeLessThanOrEqual(30);
    expect(rejectionOf(input, 30)).toBe('too_long');
  });

  test('trims surrounding whitespace before judging and reports the trimmed input', () => {
    expect(accepted('  https://example.com/clip \n').original).toBe('https://example.com/clip');
    expect(parseMediaUrl('  ftp://example.com/  ')).toEqual({ ok: false, input: 'ftp://example.com/', reason: 'unsupported_scheme' });
  });
});

describe('parseMediaUrl normalizes links', () => {
  test.each<[string, string, string]>([
    [
      'strips utm_* parameters but keeps the meaningful ones',
      'https://example.com/video?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_term=x&utm_content=y&id=7',
      'https://example.com/video?id=7',
    ],
    [
      'strips utm_* parameters but keeps the YouTube video id',
      `https://www.youtube.com/watch?v=${RICK}&utm_source=twitter&utm_medium=social`,
      `https://www.youtube.com/watch?v=${RICK}`,
    ],
    ['strips tracking parameter names case-insensitively', 'https://example.com/a?UTM_Source=x&Fbclid=y&b=1', 'https://example.com/a?b=1'],
    ['strips fbclid', 'https://example.com/post?fbclid=IwAR0aBcDeFgHiJkLmNoP', 'https://example.com/post'],
    ['strips gclid', 'https://example.com/landing?gclid=EAIaIQobChMI&page=2', 'https://example.com/landing?page=2'],
    ['strips YouTube share si', `https://youtu.be/${RICK}?si=AbCdEfGh12345678`, `https://youtu.be/${RICK}`],
    ['strips YouTube feature=share', `https://www.youtube.com/watch?v=${RICK}&feature=share`, `https://www.youtube.com/watch?v=${RICK}`],
    [
      'strips Instagram igshid',
      'https://www.instagram.com/reel/Cabc123XYZ/?igshid=MzRlODBiNWFlZA==',
      'https://www.instagram.com/reel/Cabc123XYZ/',
    ],
    [
      'strips Instagram igsh and img_index',
      'https://www.instagram.com/p/CxYz123abc/?igsh=abc&img_index=2',
      'https://www.instagram.com/p/CxYz123abc/',
    ],
    ['strips x.com share s and t', 'https://x.com/jack/status/20?s=20&t=AbCdEfGhIjKlMnOp', 'https://x.com/jack/status/20'],
    ['strips twitter.com share s and t', 'https://twitter.com/jack/status/20?s=46&t=xyz', 'https://twitter.com/jack/status/20'],
    [
      'strips s and t on mobile.twitter.com',
      'https://mobile.twitter.com/jack/status/20?s=21&t=q',
      'https://mobile.twitter.com/jack/status/20',
    ],
    ['keeps t on a generic site, where it can mean a timestamp', 'https://example.com/watch?t=30', 'https://example.com/watch?t=30'],
    ['keeps s on a generic site, where it can mean a search', 'https://example.com/search?s=cats', 'https://example.com/search?s=cats'],
    ['keeps s and t on a host that merely ends in "x.com"', 'https://box.com/v?s=1&t=2', 'https://box.com/v?s=1&t=2'],
    [
      'strips TikTok share noise',
      'https://www.tiktok.com/@user/video/7234567890123456789?is_from_webapp=1&sender_device=pc&_r=1&_t=8abc',
      'https://www.tiktok.com/@user/video/7234567890123456789',
    ],
    [
      'strips Reddit share_id and utm_name',
      'https://www.reddit.com/r/videos/comments/abc123/some_slug/?share_id=xyz&utm_name=iossmf',
      'https://www.reddit.com/r/videos/comments/abc123/some_slug/',
    ],
    ['removes the fragment', 'https://example.com/page#section-2', 'https://example.com/page'],
    ['removes an empty fragment', 'https://example.com/page#', 'https://example.com/page'],
    ['removes a YouTube #t= fragment', `https://www.youtube.com/watch?v=${RICK}#t=42`, `https://www.youtube.com/watch?v=${RICK}`],
    ['sorts the remaining parameters', 'https://example.com/list?z=1&b=2&a=3', 'https://example.com/list?a=3&b=2&z=1'],
    [
      'keeps list= and t= on a YouTube watch link, sorted',
      `https://www.youtube.com/watch?v=${RICK}&list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG&t=42s`,
      `https://www.youtube.com/watch?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG&t=42s&v=${RICK}`,
    ],
    ['lower-cases the host but not the path', 'https://WWW.Example.COM/Some/Path', 'https://www.example.com/Some/Path'],
    ['lower-cases the scheme', 'HTTPS://EXAMPLE.COM/Path', 'https://example.com/Path'],
    ['drops the default https port 443', 'https://example.com:443/a', 'https://example.com/a'],
    ['drops the default http port 80', 'http://example.com:80/a', 'http://example.com/a'],
    ['keeps a non-default port', 'https://example.com:8443/a', 'https://example.com:8443/a'],
    ['keeps port 443 on plain http, where it is not the default', 'http://example.com:443/a', 'http://example.com:443/a'],
    ['keeps plain http as http', 'http://example.com/a', 'http://example.com/a'],
    ['adds https:// to a www. link without a scheme', 'www.example.com/clip', 'https://www.example.com/clip'],
    ['adds a root path to a bare host', 'https://example.com', 'https://example.com/'],
    ['drops a dangling "?"', 'https://example.com/a?', 'https://example.com/a'],
    ['drops the "?" when every parameter was tracking', 'https://example.com/a?utm_source=x&fbclid=y', 'https://example.com/a'],
    ['encodes an international host as punycode', 'https://exämple.com/', 'https://xn--exmple-cua.com/'],
  ])('%s', (_behaviour, input, normalized) => {
    expect(accepted(input).normalized).toBe(normalized);
  });

  test('keeps the original link as the user sent it', () => {
    const url = accepted(`https://youtu.be/${RICK}?si=tracking#frag`);
    expect(url.original).toBe(`https://youtu.be/${RICK}?si=tracking#frag`);
    expect(url.normalized).toBe(`https://youtu.be/${RICK}`);
  });

  test('uses the normalized link as identity when the platform id is unknown', () => {
    const url = accepted('https://Example.com/video.mp4?utm_source=x&b=2&a=1#top');
    expect(url).toMatchObject({ platform: 'generic', videoId: null, identity: 'https://example.com/video.mp4?a=1&b=2' });
  });
});

describe('parseMediaUrl extracts platform video ids', () => {
  test.each<[string, Platform, string]>([
    // YouTube
    [`https://www.youtube.com/watch?v=${RICK}`, 'youtube', RICK],
    [`https://youtube.com/watch?v=${RICK}`, 'youtube', RICK],
    [`https://youtu.be/${RICK}`, 'youtube', RICK],
    [`https://youtu.be/${RICK}?si=AbCdEfGh&t=10`, 'youtube', RICK],
    ['https://www.youtube.com/shorts/aqz-KE-bpKQ', 'youtube', 'aqz-KE-bpKQ'],
    ['https://youtube.com/shorts/aqz-KE-bpKQ?feature=share', 'youtube', 'aqz-KE-bpKQ'],
    [`https://www.youtube.com/embed/${RICK}`, 'youtube', RICK],
    [`https://www.youtube.com/embed/${RICK}?autoplay=1&start=30`, 'youtube', RICK],
    ['https://www.youtube.com/live/jfKfPfyJRdk', 'youtube', 'jfKfPfyJRdk'],
    ['https://www.youtube.com/live/jfKfPfyJRdk?si=abc', 'youtube', 'jfKfPfyJRdk'],
    [`https://music.youtube.com/watch?v=${RICK}`, 'youtube', RICK],
    [`https://music.youtube.com/watch?v=${RICK}&list=RDAMVM${RICK}`, 'youtube', RICK],
    [`https://m.youtube.com/watch?v=${RICK}`, 'youtube', RICK],
    [`https://m.youtube.com/watch?v=${RICK}&feature=youtu.be`, 'youtube', RICK],
    [`https://www.youtube-nocookie.com/embed/${RICK}`, 'youtube', RICK],
    [`https://www.youtube.com/watch?v=${RICK}&list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI&index=2`, 'youtube', RICK],
    [`https://www.youtube.com/watch?v=${RICK}&t=42s`, 'youtube', RICK],
    [`https://www.youtube.com/watch?feature=share&v=${RICK}`, 'youtube', RICK],
    [`https://www.youtube.com/v/${RICK}`, 'youtube', RICK],
    [`https://WWW.YOUTUBE.COM/watch?v=${RICK}`, 'youtube', RICK],
    // X / Twitter
    ['https://twitter.com/NASA/status/1676695419548790784', 'twitter', '1676695419548790784'],
    ['https://x.com/NASA/status/1676695419548790784', 'twitter', '1676695419548790784'],
    ['https://x.com/NASA/status/1676695419548790784?s=20', 'twitter', '1676695419548790784'],
    ['https://x.com/NASA/status/1676695419548790784/video/1', 'twitter', '1676695419548790784'],
    ['https://mobile.twitter.com/NASA/status/1676695419548790784', 'twitter', '1676695419548790784'],
    ['https://www.twitter.com/NASA/status/1676695419548790784', 'twitter', '1676695419548790784'],
    ['https://twitter.com/i/web/status/1676695419548790784', 'twitter', '1676695419548790784'],
    ['https://fxtwitter.com/NASA/status/1676695419548790784', 'twitter', '1676695419548790784'],
    // Reddit (ids are case-insensitive and stored lower-case)
    ['https://www.reddit.com/r/videos/comments/1abcd2e/some_title_here/', 'reddit', '1abcd2e'],
    ['https://reddit.com/r/videos/comments/1abcd2e', 'reddit', '1abcd2e'],
    ['https://old.reddit.com/r/videos/comments/1abcd2e/some_title_here/', 'reddit', '1abcd2e'],
    ['https://new.reddit.com/r/videos/comments/1ABCD2E/slug/', 'reddit', '1abcd2e'],
    ['https://redd.it/1abcd2e', 'reddit', '1abcd2e'],
    // TikTok
    ['https://www.tiktok.com/@scout2015/video/6718335390845095173', 'tiktok', '6718335390845095173'],
    ['https://www.tiktok.com/@scout2015/video/6718335390845095173?is_from_webapp=1&sender_device=pc', 'tiktok', '6718335390845095173'],
    ['https://m.tiktok.com/v/6718335390845095173.html', 'tiktok', '6718335390845095173'],
    ['https://tiktok.com/@user.name_1/video/7234567890123456789', 'tiktok', '7234567890123456789'],
    // Instagram
    ['https://www.instagram.com/p/CxYz123abc/', 'instagram', 'CxYz123abc'],
    ['https://www.instagram.com/reel/C1a2B3c4D5e/', 'instagram', 'C1a2B3c4D5e'],
    ['https://www.instagram.com/reels/C1a2B3c4D5e/', 'instagram', 'C1a2B3c4D5e'],
    ['https://www.instagram.com/tv/B_aBcDeFgHi/', 'instagram', 'B_aBcDeFgHi'],
    ['https://www.instagram.com/natgeo/p/CxYz123abc/', 'instagram', 'CxYz123abc'],
    ['https://instagram.com/reel/C1a2B3c4D5e?igsh=MWQ1ZGUxMzBkMA==', 'instagram', 'C1a2B3c4D5e'],
    // Vimeo
    ['https://vimeo.com/76979871', 'vimeo', '76979871'],
    ['https://player.vimeo.com/video/76979871', 'vimeo', '76979871'],
    ['https://player.vimeo.com/video/76979871?h=8272103f6e&badge=0', 'vimeo', '76979871'],
    ['https://vimeo.com/channels/staffpicks/76979871', 'vimeo', '76979871'],
    ['https://www.vimeo.com/76979871', 'vimeo', '76979871'],
    // Twitch VODs and clips
    ['https://www.twitch.tv/videos/1234567890', 'twitch', '1234567890'],
    ['https://twitch.tv/videos/1234567890', 'twitch', '1234567890'],
    ['https://m.twitch.tv/videos/1234567890', 'twitch', '1234567890'],
    ['https://www.twitch.tv/somestreamer/v/1234567890', 'twitch', '1234567890'],
    ['https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage', 'twitch', 'clip:AwkwardHelplessSalamanderSwiftRage'],
    [
      'https://www.twitch.tv/somestreamer/clip/AwkwardHelplessSalamanderSwiftRage-1a2B3c',
      'twitch',
      'clip:AwkwardHelplessSalamanderSwiftRage-1a2B3c',
    ],
  ])('%s is %s video %s', (input, platform, videoId) => {
    const url = accepted(input);
    expect(url.platform).toBe(platform);
    expect(url.videoId).toBe(videoId);
    expect(url.identity).toBe(`${platform}:${videoId}`);
  });

  test.each<[string, string]>([
    ['an unknown host', 'https://example.com/videos/12345678'],
    ['a direct media file', 'https://cdn.example.org/media/clip.mp4'],
    ['a YouTube channel page', 'https://www.youtube.com/@SomeChannel'],
    ['a YouTube watch link with a malformed id', 'https://www.youtube.com/watch?v=tooshort'],
    ['a YouTube playlist without a video', 'https://www.youtube.com/playlist?list=PLFgquLnL59alCl_2TQvOiD5Vgm1hCaGSI'],
    ['a youtu.be link with a malformed id', 'https://youtu.be/abc'],
    ['an X profile', 'https://x.com/NASA'],
    ['a subreddit', 'https://www.reddit.com/r/videos/'],
    ['a TikTok short link (id is only known after redirect)', 'https://vm.tiktok.com/ZMabcdefg/'],
    ['an Instagram profile', 'https://www.instagram.com/natgeo/'],
    ['a Vimeo non-video page', 'https://vimeo.com/about'],
    ['a Twitch channel', 'https://www.twitch.tv/somestreamer'],
    ['a look-alike host', `https://notyoutube.com/watch?v=${RICK}`],
    ['a look-alike subdomain', `https://youtube.com.evil.example/watch?v=${RICK}`],
  ])('%s is generic with no video id', (_what, input) => {
    const url = accepted(input);
    expect(url.platform).toBe('generic');
    expect(url.videoId).toBeNull();
    expect(url.identity).toBe(url.normalized);
  });

  test('recognises a platform host written with a trailing dot', () => {
    // "youtube.com." is the same host as "youtube.com" (fully-qualified form).
    expect(accepted(`https://www.youtube.com./watch?v=${RICK}`)).toMatchObject({ platform: 'youtube', videoId: RICK });
    const tweet = accepted('https://x.com./NASA/status/1676695419548790784?t=abc');
    expect(tweet).toMatchObject({ platform: 'twitter', videoId: '1676695419548790784' });
    expect(tweet.normalized).not.toContain('t=abc');
  });
});

describe('each URL form is keyed by the video it names, or by itself', () => {
  const TWEET = '1676695419548790784';
  const CLIP = 'AwkwardHelplessSalamanderSwiftRage-1a2B3cD4e5F6g7H8';
  const TIKTOK = '7234567890123456789';
  const IG = 'C1a2B3c4D5e';

  const ITSELF = 'its own normalized URL';

  /** `platform:id` for a URL that names one video; else ITSELF, once checked that it is keyed so. */
  function identityOf(input: string): string {
    const url = accepted(input);
    if (url.videoId === null) {
      expect(url).toMatchObject({ platform: 'generic', identity: url.normalized });
      return ITSELF;
    }
    expect(url.identity).toBe(`${url.platform}:${url.videoId}`);
    return url.identity;
  }

  // Each of these was keyed on the wrong number or word (or missed) before the positional rules.
  test.each<[string, string, string, string]>([
    ['a video in a Vimeo showcase', 'https://vimeo.com/showcase/1234567/video/76979871', 'vimeo:76979871', 'vimeo:1234567'],
    ['a video in a Vimeo album', 'https://vimeo.com/album/123456/video/76979871', 'vimeo:76979871', 'vimeo:123456'],
    ['a video in a Vimeo group with a numeric name', 'https://vimeo.com/groups/123456/videos/76979871', 'vimeo:76979871', 'vimeo:123456'],
    ['a video in a Vimeo channel with a numeric name', 'https://vimeo.com/channels/1234567/76979871', 'vimeo:76979871', 'vimeo:1234567'],
    ['a Vimeo showcase (a collection)', 'https://vimeo.com/showcase/1234567', ITSELF, 'vimeo:1234567'],
    ['a Vimeo album (a collection)', 'https://vimeo.com/album/123456', ITSELF, 'vimeo:123456'],
    ['a Vimeo live event (another ID space)', 'https://vimeo.com/event/1234567', ITSELF, 'vimeo:1234567'],
    [
      'an embedded Twitch clip',
      `https://clips.twitch.tv/embed?clip=${CLIP}&parent=example.com`,
      `twitch:clip:${CLIP}`,
      'twitch:clip:embed',
    ],
    [
      'an embedded YouTube playlist',
      'https://www.youtube.com/embed/videoseries?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG',
      ITSELF,
      'youtube:videoseries',
    ],
    [
      "an embedded YouTube channel's live stream",
      'https://www.youtube.com/embed/live_stream?channel=UCuAXFkgsw1L7xaCfnd5JJOw',
      ITSELF,
      'youtube:live_stream',
    ],
    ['a Twitch VOD in the embedded player', 'https://player.twitch.tv/?video=v1234567890&parent=example.com', 'twitch:1234567890', ITSELF],
    ['a Twitch clip in the embedded player', `https://player.twitch.tv/?clip=${CLIP}&parent=example.com`, `twitch:clip:${CLIP}`, ITSELF],
    [
      'a post in a subreddit named "comments"',
      'https://www.reddit.com/r/comments/comments/abc123/some_title/',
      'reddit:abc123',
      'reddit:comments',
    ],
    ['an X path that repeats /status/', `https://x.com/status/1/status/${TWEET}`, ITSELF, 'twitter:1'],
    ['a tweet by a user named "status"', `https://x.com/status/status/${TWEET}`, `twitter:${TWEET}`, ITSELF],
    ["a tweet's second video (not the tweet's key)", `https://x.com/NASA/status/${TWEET}/video/2`, ITSELF, `twitter:${TWEET}`],
    ['an Instagram audio page (a collection)', 'https://www.instagram.com/reels/audio/1234567890123456/', ITSELF, 'instagram:audio'],
    ['a Twitch VOD under /<channel>/video/', 'https://www.twitch.tv/somestreamer/video/1234567890', 'twitch:1234567890', ITSELF],
    ['a TikTok photo post', `https://www.tiktok.com/@scout2015/photo/${TIKTOK}`, `tiktok:${TIKTOK}`, ITSELF],
  ])('%s: %s is %s (was %s)', (_what, input, identity) => {
    expect(identityOf(input)).toBe(identity);
  });

  test.each<[string, string]>([
    // YouTube: every form of one video, and the pages that only look like one.
    [`https://www.youtube.com/watch?v=${RICK}`, `youtube:${RICK}`],
    [`https://www.youtube.com/watch/?v=${RICK}&t=42s`, `youtube:${RICK}`],
    [`https://youtu.be/${RICK}?si=AbCdEfGh`, `youtube:${RICK}`],
    [`https://www.youtube.com/shorts/${RICK}/`, `youtube:${RICK}`],
    [`https://m.youtube.com/shorts/${RICK}`, `youtube:${RICK}`],
    [`https://www.youtube.com/embed/${RICK}?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG`, `youtube:${RICK}`],
    [`https://www.youtube.com/live/${RICK}?feature=share`, `youtube:${RICK}`],
    [`https://www.youtube.com/v/${RICK}`, `youtube:${RICK}`],
    [`https://www.youtube.com/e/${RICK}`, `youtube:${RICK}`],
    [`https://music.youtube.com/watch?v=${RICK}&feature=share`, `youtube:${RICK}`],
    [`https://www.youtube-nocookie.com/embed/${RICK}?start=10`, `youtube:${RICK}`],
    [`https://m.youtube.com/watch?v=${RICK}`, `youtube:${RICK}`],
    [`https://www.youtube.com/watch?v=${RICK}&v=jNQXAC9IVRw`, ITSELF],
    ['https://www.youtube.com/embed/videoseries?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG', ITSELF],
    ['https://www.youtube.com/embed/live_stream?channel=UCuAXFkgsw1L7xaCfnd5JJOw', ITSELF],
    ['https://www.youtube.com/playlist?list=PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG', ITSELF],
    ['https://music.youtube.com/playlist?list=OLAK5uy_kJ7yBv0k2yA2pN6J0Q5uzeuL_oYrEWdXM', ITSELF],
    ['https://www.youtube.com/@NASA/live', ITSELF],
    ['https://www.youtube.com/channel/UCLA_DiR1FfKNvjuUpBHmylQ', ITSELF],
    ['https://www.youtube.com/clip/UgkxU2HSeGL_NvmDJ-nQJrlLwllwMDBdGZFs', ITSELF],
    [`https://www.youtube.com/shorts/${RICK}x`, ITSELF],
    // X / Twitter and its embed-fixing mirrors.
    [`https://x.com/NASA/status/${TWEET}`, `twitter:${TWEET}`],
    [`https://x.com/i/status/${TWEET}`, `twitter:${TWEET}`],
    [`https://twitter.com/i/web/status/${TWEET}`, `twitter:${TWEET}`],
    [`https://x.com/NASA/status/${TWEET}/video/1`, `twitter:${TWEET}`],
    [`https://x.com/NASA/status/${TWEET}/photo/1`, `twitter:${TWEET}`],
    [`https://mobile.x.com/NASA/status/${TWEET}?s=20`, `twitter:${TWEET}`],
    [`https://vxtwitter.com/NASA/status/${TWEET}`, `twitter:${TWEET}`],
    [`https://fixupx.com/NASA/status/${TWEET}`, `twitter:${TWEET}`],
    [`https://fxtwitter.com/NASA/status/${TWEET}/video/1`, `twitter:${TWEET}`],
    [`https://x.com/statuses/${TWEET}`, `twitter:${TWEET}`],
    [`https://x.com/NASA/status/${TWEET}/photo/2`, ITSELF],
    ['https://x.com/NASA/status/not-a-number', ITSELF],
    ['https://x.com/NASA/likes', ITSELF],
    ['https://x.com/i/broadcasts/1ypKdpLNZeQxW', ITSELF],
    // Reddit posts; v.redd.it media IDs are another ID space and never meet post IDs.
    ['https://www.reddit.com/comments/1abcd2e', 'reddit:1abcd2e'],
    ['https://www.reddit.com/user/someone/comments/1abcd2e/my_post/', 'reddit:1abcd2e'],
    ['https://www.reddit.com/u/someone/comments/1abcd2e', 'reddit:1abcd2e'],
    ['https://np.reddit.com/r/videos/comments/1abcd2e/title/', 'reddit:1abcd2e'],
    ['https://old.reddit.com/r/videos/comments/1abcd2e/title/kx1y2z3/', 'reddit:1abcd2e'],
    ['https://redd.it/1abcd2e', 'reddit:1abcd2e'],
    ['https://v.redd.it/1abcd2e', 'reddit:media:1abcd2e'],
    ['https://www.reddit.com/r/videos/s/AbCdEf1234', ITSELF],
    ['https://www.reddit.com/user/someone/', ITSELF],
    ['https://www.reddit.com/r/videos/comments/', ITSELF],
    // TikTok: the short links only say which video after a redirect.
    [`https://www.tiktok.com/@scout2015/video/${TIKTOK}`, `tiktok:${TIKTOK}`],
    [`https://m.tiktok.com/v/${TIKTOK}.html`, `tiktok:${TIKTOK}`],
    [`https://www.tiktok.com/embed/v2/${TIKTOK}`, `tiktok:${TIKTOK}`],
    [`https://www.tiktok.com/embed/${TIKTOK}`, `tiktok:${TIKTOK}`],
    [`https://www.tiktok.com/share/video/${TIKTOK}`, `tiktok:${TIKTOK}`],
    ['https://vm.tiktok.com/ZMabcdefg/', ITSELF],
    ['https://vt.tiktok.com/ZSabcdefg/', ITSELF],
    ['https://www.tiktok.com/t/ZTRC5xgJp/', ITSELF],
    ['https://www.tiktok.com/@scout2015', ITSELF],
    ['https://www.tiktok.com/music/original-sound-7234567890123456789', ITSELF],
    [`https://www.tiktok.com/tag/video/${TIKTOK}`, ITSELF],
    // Instagram posts, reels and IGTV; stories and audio pages are not one post.
    [`https://www.instagram.com/p/${IG}/`, `instagram:${IG}`],
    [`https://www.instagram.com/reel/${IG}/?igsh=abc`, `instagram:${IG}`],
    [`https://www.instagram.com/reels/${IG}/`, `instagram:${IG}`],
    [`https://www.instagram.com/tv/${IG}`, `instagram:${IG}`],
    [`https://www.instagram.com/natgeo/p/${IG}/`, `instagram:${IG}`],
    [`https://www.instagram.com/natgeo/reel/${IG}/`, `instagram:${IG}`],
    [`https://www.instagram.com/p/${IG}/embed/captioned/`, `instagram:${IG}`],
    [`https://www.instagram.com/p/${IG}/c/17912345678901234/`, `instagram:${IG}`],
    ['https://www.instagram.com/reels/audio/1234567890123456/', ITSELF],
    ['https://www.instagram.com/stories/highlights/18090946048123978/', ITSELF],
    ['https://www.instagram.com/stories/natgeo/3123456789012345678/', ITSELF],
    ['https://www.instagram.com/natgeo/reels/', ITSELF],
    ['https://www.instagram.com/explore/tags/cats/', ITSELF],
    // Vimeo: a video inside a collection is the video; the collection alone is not.
    ['https://vimeo.com/76979871/8272103f6e', 'vimeo:76979871'],
    ['https://player.vimeo.com/video/76979871?h=8272103f6e', 'vimeo:76979871'],
    ['https://vimeo.com/channels/staffpicks/76979871', 'vimeo:76979871'],
    ['https://vimeo.com/groups/shortfilms/videos/76979871', 'vimeo:76979871'],
    ['https://vimeo.com/album/123456/video/76979871', 'vimeo:76979871'],
    ['https://vimeo.com/showcase/1234567/video/76979871', 'vimeo:76979871'],
    ['https://vimeo.com/showcase/1234567', ITSELF],
    ['https://vimeo.com/channels/staffpicks', ITSELF],
    ['https://vimeo.com/groups/shortfilms', ITSELF],
    ['https://vimeo.com/user12345678', ITSELF],
    ['https://vimeo.com/ondemand/somefilm', ITSELF],
    // Twitch VODs and clips, including the embedded player.
    ['https://www.twitch.tv/videos/1234567890', 'twitch:1234567890'],
    ['https://m.twitch.tv/videos/1234567890', 'twitch:1234567890'],
    ['https://go.twitch.tv/videos/1234567890', 'twitch:1234567890'],
    ['https://www.twitch.tv/somestreamer/v/1234567890', 'twitch:1234567890'],
    ['https://www.twitch.tv/somestreamer/video/1234567890', 'twitch:1234567890'],
    ['https://player.twitch.tv/?video=1234567890&parent=example.com', 'twitch:1234567890'],
    [`https://www.twitch.tv/somestreamer/clip/${CLIP}`, `twitch:clip:${CLIP}`],
    [`https://m.twitch.tv/clip/${CLIP}`, `twitch:clip:${CLIP}`],
    [`https://clips.twitch.tv/${CLIP}`, `twitch:clip:${CLIP}`],
    [`https://clips.twitch.tv/embed?clip=${CLIP}&parent=example.com`, `twitch:clip:${CLIP}`],
    [`https://player.twitch.tv/?clip=${CLIP}&parent=example.com`, `twitch:clip:${CLIP}`],
    ['https://clips.twitch.tv/embed?parent=example.com', ITSELF],
    ['https://player.twitch.tv/?channel=somestreamer&parent=example.com', ITSELF],
    [`https://player.twitch.tv/?video=v1234567890&clip=${CLIP}`, ITSELF],
    ['https://www.twitch.tv/somestreamer/videos', ITSELF],
    ['https://www.twitch.tv/somestreamer/clips', ITSELF],
    ['https://www.twitch.tv/collections/o9zZer3IQBhTJw', ITSELF],
  ])('%s is keyed as %s', (input, identity) => {
    expect(identityOf(input)).toBe(identity);
  });

  test('a v.redd.it media ID and a Reddit post ID with the same letters are different downloads', () => {
    const media = contentKeyFor(accepted('https://v.redd.it/abc123'), 'video');
    expect(media).not.toBe(contentKeyFor(accepted('https://redd.it/abc123'), 'video'));
    expect(media).not.toBe(contentKeyFor(accepted('https://www.reddit.com/comments/abc123'), 'video'));
  });

  test('a path with an empty segment names no video', () => {
    expect(identityOf('https://www.reddit.com/r//comments/abc123')).toBe(ITSELF);
    expect(identityOf('https://vimeo.com//76979871')).toBe(ITSELF);
  });
});

describe('contentKeyFor: the same video is downloaded once', () => {
  const sameVideo = [
    `https://youtu.be/${RICK}?si=AbCdEfGh12345678`,
    `https://www.youtube.com/watch?v=${RICK}&feature=share`,
    `https://www.youtube.com/shorts/${RICK}`,
    `https://m.youtube.com/watch?v=${RICK}`,
    `https://music.youtube.com/watch?v=${RICK}`,
    `https://www.youtube.com/embed/${RICK}?autoplay=1`,
    `https://www.youtube-nocookie.com/embed/${RICK}`,
    `https://www.youtube.com/watch?v=${RICK}&list=PLx&t=42#comments`,
  ];

  test.each(sameVideo)('%s maps to the same key as youtube.com/watch?v=ID', (input) => {
    const reference = contentKeyFor(accepted(`https://www.youtube.com/watch?v=${RICK}`), 'video');
    expect(contentKeyFor(accepted(input), 'video')).toBe(reference);
  });

  test('different video ids give different keys', () => {
    const a = contentKeyFor(accepted(`https://youtu.be/${RICK}`), 'video');
    const b = contentKeyFor(accepted('https://youtu.be/jNQXAC9IVRw'), 'video');
    expect(a).not.toBe(b);
  });

  test('the same id on different platforms gives different keys', () => {
    const vimeo = contentKeyFor(accepted('https://vimeo.com/1234567890'), 'video');
    const twitch = contentKeyFor(accepted('https://www.twitch.tv/videos/1234567890'), 'video');
    expect(vimeo).not.toBe(twitch);
  });

  test('video and audio of the same link are different downloads', () => {
    const url = accepted(`https://youtu.be/${RICK}`);
    expect(contentKeyFor(url, 'video')).not.toBe(contentKeyFor(url, 'audio'));
  });

  test('generic links differing only in tracking and parameter order share a key', () => {
    const a = accepted('https://example.com/clip?b=2&a=1&utm_source=x#t');
    const b = accepted('https://EXAMPLE.com/clip?a=1&b=2&fbclid=zzz');
    expect(contentKeyFor(a, 'video')).toBe(contentKeyFor(b, 'video'));
    expect(contentKeyFor(a, 'video')).not.toBe(contentKeyFor(accepted('https://example.com/clip?a=1&b=3'), 'video'));
  });

  test('the key is 64 lower-case hex characters and stable across calls', () => {
    const key = contentKeyFor({ identity: `youtube:${RICK}` }, 'audio');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(contentKeyFor({ identity: `youtube:${RICK}` }, 'audio')).toBe(key);
  });
});

describe('contentKeyFor: different videos never share a key', () => {
  /** One URL form of one platform: the ID it carries and what surrounds it (user, collection, title). */
  interface Template {
    name: string;
    platform: Platform;
    id: fc.Arbitrary<string>;
    /** What the key's ID part is for a given ID. */
    keyed: (id: string) => string;
    context: fc.Arbitrary<string>;
    url: (id: string, context: string) => string;
  }

  const none = fc.constant('');
  const youtubeId = fc.stringMatching(/^[A-Za-z0-9_-]{11}$/).filter((id) => !/^(videoseries|live_stream)$/i.test(id));
  const tweetId = fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String);
  const redditPost = fc.stringMatching(/^[a-z0-9]{5,7}$/);
  const tiktokId = fc.bigInt({ min: 10n ** 18n, max: 2n ** 63n - 1n }).map(String);
  const instagramCode = fc.stringMatching(/^[A-Za-z0-9_-]{11}$/);
  const vimeoId = fc.integer({ min: 1, max: 2_000_000_000 }).map(String);
  const twitchVod = fc.integer({ min: 1, max: 99_999_999_999 }).map(String);
  const twitchClip = fc.stringMatching(/^[A-Z][a-z]{3,12}[A-Z][a-z]{3,12}-[A-Za-z0-9_-]{16}$/);
  // User and collection names, including the route words a first-match rule used to trip over.
  const name = (pattern: RegExp, ...routeWords: string[]) => fc.oneof(fc.stringMatching(pattern), fc.constantFrom(...routeWords));
  const xUser = name(/^[A-Za-z0-9_]{1,15}$/, 'status', 'statuses', 'i', 'video', 'photo');
  const subreddit = name(/^[A-Za-z0-9_]{3,21}$/, 'comments', 'r', 'user', 'u');
  const slug = fc.stringMatching(/^[a-z0-9_]{1,40}$/);
  const tiktokUser = name(/^[a-z0-9._]{2,24}$/, 'video', 'photo', 'v', 'embed').map((u) => `@${u}`);
  // Instagram keeps its route words out of user names.
  const instagramUser = fc.stringMatching(/^[a-z0-9._]{3,30}$/).filter((u) => !['reel', 'reels'].includes(u));
  const numericCollection = fc.integer({ min: 1, max: 99_999_999 }).map(String);
  const vimeoName = name(/^[a-z0-9]{3,20}$/, 'video', 'videos', 'showcase');
  const twitchChannel = name(/^[a-z0-9_]{4,25}$/, 'videos', 'v', 'video', 'clip');

  const same = (id: string) => id;
  const clip = (slug: string) => `clip:${slug}`;
  const form = (
    name: string,
    platform: Platform,
    id: fc.Arbitrary<string>,
    url: Template['url'],
    context: fc.Arbitrary<string> = none,
    keyed: Template['keyed'] = same,
  ): Template => ({ name, platform, id, url, context, keyed });

  const templates: Template[] = [
    form('youtube watch', 'youtube', youtubeId, (id) => `https://www.youtube.com/watch?v=${id}`),
    form('youtu.be', 'youtube', youtubeId, (id) => `https://youtu.be/${id}?si=x`),
    form('youtube shorts', 'youtube', youtubeId, (id) => `https://youtube.com/shorts/${id}`),
    form('youtube embed', 'youtube', youtubeId, (id) => `https://www.youtube-nocookie.com/embed/${id}`),
    form('youtube live', 'youtube', youtubeId, (id) => `https://www.youtube.com/live/${id}`),
    form('youtube music', 'youtube', youtubeId, (id) => `https://music.youtube.com/watch?v=${id}`),
    form('x status', 'twitter', tweetId, (id, user) => `https://x.com/${user}/status/${id}`, xUser),
    form('x status video/1', 'twitter', tweetId, (id, user) => `https://twitter.com/${user}/status/${id}/video/1`, xUser),
    form('x i/web/status', 'twitter', tweetId, (id) => `https://x.com/i/web/status/${id}`),
    form(
      'reddit subreddit post',
      'reddit',
      redditPost,
      (id, subAndTitle) => {
        const [sub, title] = subAndTitle.split('/');
        return `https://www.reddit.com/r/${sub}/comments/${id}/${title}/`;
      },
      fc.tuple(subreddit, slug).map(([sub, title]) => `${sub}/${title}`),
    ),
    form('reddit user post', 'reddit', redditPost, (id, user) => `https://old.reddit.com/user/${user}/comments/${id}`, subreddit),
    form('redd.it', 'reddit', redditPost, (id) => `https://redd.it/${id}`),
    form(
      'v.redd.it',
      'reddit',
      redditPost,
      (id) => `https://v.redd.it/${id}`,
      none,
      (id) => `media:${id}`,
    ),
    form('tiktok video', 'tiktok', tiktokId, (id, user) => `https://www.tiktok.com/${user}/video/${id}`, tiktokUser),
    form('tiktok mobile', 'tiktok', tiktokId, (id) => `https://m.tiktok.com/v/${id}.html`),
    form('tiktok embed', 'tiktok', tiktokId, (id) => `https://www.tiktok.com/embed/v2/${id}`),
    form('instagram post', 'instagram', instagramCode, (id) => `https://www.instagram.com/p/${id}/`),
    form('instagram reels', 'instagram', instagramCode, (id) => `https://www.instagram.com/reels/${id}/`),
    form('instagram user reel', 'instagram', instagramCode, (id, user) => `https://www.instagram.com/${user}/reel/${id}/`, instagramUser),
    form('vimeo', 'vimeo', vimeoId, (id) => `https://vimeo.com/${id}`),
    form('vimeo player', 'vimeo', vimeoId, (id) => `https://player.vimeo.com/video/${id}`),
    form('vimeo showcase video', 'vimeo', vimeoId, (id, sid) => `https://vimeo.com/showcase/${sid}/video/${id}`, numericCollection),
    form('vimeo album video', 'vimeo', vimeoId, (id, aid) => `https://vimeo.com/album/${aid}/video/${id}`, numericCollection),
    form('vimeo channel video', 'vimeo', vimeoId, (id, channel) => `https://vimeo.com/channels/${channel}/${id}`, vimeoName),
    form('vimeo group video', 'vimeo', vimeoId, (id, group) => `https://vimeo.com/groups/${group}/videos/${id}`, vimeoName),
    form('twitch vod', 'twitch', twitchVod, (id) => `https://www.twitch.tv/videos/${id}`),
    form('twitch channel vod', 'twitch', twitchVod, (id, channel) => `https://www.twitch.tv/${channel}/v/${id}`, twitchChannel),
    form('twitch player vod', 'twitch', twitchVod, (id) => `https://player.twitch.tv/?video=v${id}&parent=example.com`),
    form('twitch clip', 'twitch', twitchClip, (slug) => `https://clips.twitch.tv/${slug}`, none, clip),
    form('twitch embedded clip', 'twitch', twitchClip, (slug) => `https://clips.twitch.tv/embed?clip=${slug}&parent=x`, none, clip),
    form('twitch channel clip', 'twitch', twitchClip, (slug, ch) => `https://www.twitch.tv/${ch}/clip/${slug}`, twitchChannel, clip),
    form('twitch player clip', 'twitch', twitchClip, (slug) => `https://player.twitch.tv/?clip=${slug}`, none, clip),
  ];

  test.each(templates.map((t) => [t.name, t] as const))(
    '%s: the key follows the video ID, whatever user or collection surrounds it',
    (_name, { platform, id, keyed, context, url }) => {
      // Half the pairs share the video ID, so both directions of the rule are exercised.
      const twoVideos = fc.tuple(id, id, fc.boolean()).map(([a, b, reuse]) => [reuse ? b : a, b] as const);
      fc.assert(
        fc.property(twoVideos, context, context, ([a, b], contextA, contextB) => {
          const first = accepted(url(a, contextA));
          const second = accepted(url(b, contextB));
          expect(first).toMatchObject({ platform, videoId: keyed(a) });
          expect(second.videoId).toBe(keyed(b));
          const sameKey = contentKeyFor(first, 'video') === contentKeyFor(second, 'video');
          expect(sameKey).toBe(a === b);
        }),
        { numRuns: 300 },
      );
    },
  );

  test('no two templates give one key unless they name the same platform video', () => {
    const anyVideo = fc.constantFrom(...templates).chain((t) =>
      fc.tuple(t.id, t.context).map(([id, context]) => {
        const url = t.url(id, context);
        return { url, expected: `${t.platform}:${t.keyed(id)}` };
      }),
    );
    fc.assert(
      fc.property(anyVideo, anyVideo, (a, b) => {
        const sameKey = contentKeyFor(accepted(a.url), 'video') === contentKeyFor(accepted(b.url), 'video');
        expect(sameKey).toBe(a.expected === b.expected);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('tracking parameters: stripped only where they mean tracking', () => {
  const keyOf = (input: string) => contentKeyFor(accepted(input), 'video');
  const unknownHost = fc.constantFrom(
    'https://example.com/watch',
    'https://media.example.org/v/42',
    'https://box.com/s/file',
    'https://notyoutube.com/clip',
    'https://shop.example.net/',
  );
  // Names that are share noise on some platform, or that only look like tracking, but on an
  // unknown site can choose the content.
  const meaningfulElsewhere = fc.constantFrom(
    'ref',
    'si',
    'feature',
    'pp',
    'spm',
    '__x',
    '__cft__[0]',
    'pk_id',
    'pk_vid',
    'mtm_x',
    'hsa_x',
    'vero_x',
    's',
    't',
    'share',
    'share_id',
    'igsh',
    'img_index',
    'hl',
    'rdt',
    'sh',
    'ref_src',
    'ref_url',
    'ab_channel',
    'source_ve_path',
    'embeds_referring_euri',
    'mibextid',
    'fl',
    'fe',
    'tt_medium',
    'is_from_webapp',
    'xmt',
    'ocid',
    'cmpid',
    'smid',
  );
  const value = fc.stringMatching(/^[a-z0-9]{1,8}$/);

  test('on an unknown site, links differing only in a generic parameter are different downloads', () => {
    fc.assert(
      fc.property(unknownHost, meaningfulElsewhere, value, value, (base, name, a, b) => {
        fc.pre(a !== b);
        const param = encodeURIComponent(name);
        expect(keyOf(`${base}?${param}=${a}`)).not.toBe(keyOf(`${base}?${param}=${b}`));
      }),
      { numRuns: 500 },
    );
  });

  test('?ref=v1 and ?ref=v2 on an unknown site are two downloads', () => {
    expect(keyOf('https://example.com/video?ref=v1')).not.toBe(keyOf('https://example.com/video?ref=v2'));
    expect(accepted('https://example.com/video?ref=v1').normalized).toBe('https://example.com/video?ref=v1');
  });

  const everywhere = fc.constantFrom(
    'utm_source',
    'utm_medium',
    'UTM_Campaign',
    'utm_whatever',
    'fbclid',
    'gclid',
    'dclid',
    'gbraid',
    'wbraid',
    'msclkid',
    'yclid',
    'twclid',
    'ttclid',
    'li_fat_id',
    'mc_cid',
    'mc_eid',
    '_ga',
    '_gl',
    'igshid',
    'pk_campaign',
    'pk_kwd',
    'pk_source',
    'pk_medium',
    'pk_content',
    'pk_cid',
    'mtm_campaign',
    'mtm_source',
    '_hsenc',
    '_hsmi',
    '__hstc',
    '__hssc',
    '__hsfp',
    'hsa_acc',
    'hsa_cam',
  );
  const anyHost = fc.oneof(
    unknownHost,
    fc.constantFrom(`https://www.youtube.com/watch?v=${RICK}`, 'https://x.com/NASA/status/20', 'https://vimeo.com/76979871'),
  );

  test('utm_*, click IDs and campaign IDs are stripped on every site', () => {
    fc.assert(
      fc.property(anyHost, everywhere, value, (base, name, v) => {
        const joiner = base.includes('?') ? '&' : '?';
        expect(accepted(`${base}${joiner}${name}=${v}`).normalized).toBe(accepted(base).normalized);
      }),
      { numRuns: 500 },
    );
  });

  test.each<[string, string]>([
    [`https://www.youtube.com/watch?v=${RICK}`, 'si'],
    [`https://www.youtube.com/watch?v=${RICK}`, 'pp'],
    [`https://www.youtube.com/watch?v=${RICK}`, 'ab_channel'],
    [`https://www.youtube.com/watch?v=${RICK}`, 'source_ve_path'],
    [`https://www.youtube.com/watch?v=${RICK}`, 'embeds_referring_euri'],
    [`https://www.youtube.com/watch?v=${RICK}`, 'embeds_referring_origin'],
    [`https://music.youtube.com/watch?v=${RICK}`, 'feature'],
    [`https://www.youtube-nocookie.com/embed/${RICK}`, 'embeds_referring_euri'],
    ['https://x.com/NASA/status/20', 'ref_src'],
    ['https://twitter.com/NASA/status/20', 'ref_url'],
    ['https://fxtwitter.com/NASA/status/20', 's'],
    ['https://www.tiktok.com/@u/video/7234567890123456789', 'share_item_id'],
    ['https://www.tiktok.com/@u/video/7234567890123456789', 'u_code'],
    ['https://www.instagram.com/p/CxYz123abc/', 'igsh'],
    ['https://www.reddit.com/r/videos/comments/abc123/t/', 'rdt'],
    ['https://www.reddit.com/r/videos/comments/abc123/t/', 'ref'],
    ['https://www.reddit.com/r/videos/comments/abc123/t/', 'ref_source'],
    ['https://old.reddit.com/r/videos/comments/abc123/t/', 'sh'],
    ['https://vimeo.com/76979871', 'share'],
    ['https://vimeo.com/76979871', 'fl'],
    ['https://clips.twitch.tv/AwkwardHelplessSalamanderSwiftRage', 'tt_medium'],
    ['https://www.facebook.com/watch/', 'mibextid'],
    ['https://m.facebook.com/reel/123456789', 'rdid'],
    ['https://www.facebook.com/watch/', '__cft__[0]'],
  ])('on %s, %s is share noise and is stripped', (base, name) => {
    const joiner = base.includes('?') ? '&' : '?';
    expect(accepted(`${base}${joiner}${encodeURIComponent(name)}=abc`).normalized).toBe(accepted(base).normalized);
  });

  test("Vimeo's unlisted hash h= is not share noise", () => {
    expect(accepted('https://player.vimeo.com/video/76979871?h=8272103f6e&share=copy').normalized).toBe(
      'https://player.vimeo.com/video/76979871?h=8272103f6e',
    );
  });

  test('a YouTube share si does not split one video in two, but it does on another site', () => {
    expect(keyOf(`https://youtu.be/${RICK}?si=one`)).toBe(keyOf(`https://youtu.be/${RICK}?si=two`));
    expect(keyOf('https://example.com/v?si=one')).not.toBe(keyOf('https://example.com/v?si=two'));
  });
});

describe('findLinkCandidates', () => {
  test('finds several links in a chat message, in order', () => {
    const text = `hey grab these https://youtu.be/${RICK} and\nhttps://x.com/NASA/status/1676695419548790784 thanks!`;
    expect(findLinkCandidates(text)).toEqual([`https://youtu.be/${RICK}`, 'https://x.com/NASA/status/1676695419548790784']);
  });

  test.each<[string, string, string]>([
    ['a trailing full stop', 'watch https://example.com/a.', 'https://example.com/a'],
    ['a trailing comma', 'https://example.com/a, and more', 'https://example.com/a'],
    ['a closing parenthesis with no opener', '(see https://example.com/a)', 'https://example.com/a'],
    ['a parenthesis and a full stop', '(see https://example.com/a).', 'https://example.com/a'],
    ['trailing exclamation and question marks', 'https://example.com/a?!', 'https://example.com/a'],
    ['a closing quote', '"https://example.com/a"', 'https://example.com/a'],
    ['a closing angle bracket', '<https://example.com/a>', 'https://example.com/a'],
    ['a closing guillemet', '«https://example.com/a»', 'https://example.com/a'],
    ['an unbalanced closing square bracket', '[https://example.com/a]', 'https://example.com/a'],
    ['a trailing colon and semicolon', 'https://example.com/a:;', 'https://example.com/a'],
  ])('trims %s', (_what, text, link) => {
    expect(findLinkCandidates(text)).toEqual([link]);
  });

  test('keeps balanced parentheses that are part of the link', () => {
    expect(findLinkCandidates('see https://en.wikipedia.org/wiki/Foo_(bar) for details')).toEqual([
      'https://en.wikipedia.org/wiki/Foo_(bar)',
    ]);
    expect(findLinkCandidates('(https://en.wikipedia.org/wiki/Foo_(bar)).')).toEqual(['https://en.wikipedia.org/wiki/Foo_(bar)']);
  });

  test('picks up non-http schemes so they can be rejected with a reason', () => {
    const found = findLinkCandidates(
      'try ftp://files.example.com/v.mp4 or javascript:alert(1) or file:///etc/passwd or mailto:me@example.com or data:text/plain,hi',
    );
    expect(found).toEqual([
      'ftp://files.example.com/v.mp4',
      'javascript:alert(1)',
      'file:///etc/passwd',
      'mailto:me@example.com',
      'data:text/plain,hi',
    ]);
    expect(found.map((f) => rejectionOf(f))).toEqual(Array(5).fill('unsupported_scheme'));
  });

  test('picks up dash-prefixed links so they can be rejected as leading_dash', () => {
    const found = findLinkCandidates('-https://evil.example/x --https://evil.example/y');
    expect(found).toEqual(['-https://evil.example/x', '--https://evil.example/y']);
    expect(found.map((f) => rejectionOf(f))).toEqual(['leading_dash', 'leading_dash']);
  });

  test('picks up www. links without a scheme, and they are accepted as https', () => {
    const found = findLinkCandidates('have a look at www.example.org/page!');
    expect(found).toEqual(['www.example.org/page']);
    expect(accepted(found[0]!).normalized).toBe('https://www.example.org/page');
  });

  test('ignores plain words, bare domains and empty text', () => {
    expect(findLinkCandidates('hello there, please download this. example.com is nice: ok')).toEqual([]);
    expect(findLinkCandidates('')).toEqual([]);
    expect(findLinkCandidates('   \n\t ')).toEqual([]);
  });

  test('every candidate from a mixed message gets a verdict from parseMediaUrl', () => {
    const text = `queue https://youtu.be/${RICK}, https://user:pw@example.com/v and ftp://x.org/f.`;
    const verdicts = findLinkCandidates(text).map((c) => rejectionOf(c));
    expect(verdicts).toEqual(['accepted', 'has_credentials', 'unsupported_scheme']);
  });
});

describe('parseMediaUrl properties', () => {
  const anyText = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc
      .tuple(
        fc.constantFrom('http://', 'https://', 'HTTPS://', 'www.', '-https://', 'ftp://', 'https://u:p@', 'javascript:'),
        fc.string({ unit: 'binary' }),
      )
      .map(([prefix, rest]) => prefix + rest),
    fc.tuple(fc.constantFrom('http://', 'https://', 'www.'), fc.string({ unit: 'grapheme-ascii' })).map(([prefix, rest]) => prefix + rest),
  );

  test('never throws on arbitrary strings and always returns a verdict', () => {
    fc.assert(
      fc.property(anyText, (input) => {
        const result = parseMediaUrl(input);
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  test('an accepted URL normalizes to http(s) with no fragment', () => {
    fc.assert(
      fc.property(anyText, (input) => {
        const result = parseMediaUrl(input);
        if (!result.ok) return;
        expect(result.url.normalized).toMatch(/^https?:\/\//);
        expect(result.url.normalized).not.toContain('#');
      }),
      { numRuns: 2000 },
    );
  });

  test('generated web URLs are accepted and normalizing twice changes nothing', () => {
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), (input) => {
        const first = parseMediaUrl(input);
        if (!first.ok) throw new Error(`${input} rejected as ${first.reason}`);
        const second = parseMediaUrl(first.url.normalized);
        expect(second.ok && second.url.normalized).toBe(first.url.normalized);
        expect(second.ok && second.url.identity).toBe(first.url.identity);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('link handling stays linear on hostile input', () => {
  const MB = 1024 * 1024;
  /** `prefix`, then `unit` repeated to about 1 MB, then `suffix`. */
  const mb = (prefix: string, unit: string, suffix = '') => prefix + unit.repeat(Math.ceil(MB / unit.length)) + suffix;
  /** `prefix`, then about 1 MB of parameters with distinct names: each one is a separate removal. */
  const distinctParams = (prefix: string, name: (i: number) => string) => {
    const params: string[] = [];
    for (let i = 0, size = prefix.length; size < MB; i += 1) {
      const param = `${name(i)}=x`;
      params.push(param);
      size += param.length + 1;
    }
    return prefix + params.join('&');
  };

  test.each<[string, string]>([
    ['closing parentheses after a link', mb('https://example.com/a', ')')],
    ['closing square brackets after a link', mb('https://example.com/a', ']')],
    ['balanced parentheses, then one more closer', `https://example.com/${'('.repeat(MB / 2)}${')'.repeat(MB / 2)})`],
    ['mixed trailing punctuation and brackets', mb('https://example.com/a', ').]}"\'!?,;:»>')],
    ['many short links, each with a closer', mb('', ' https://a.io/x)')],
    ['spaces', ' '.repeat(MB)],
    ['opening brackets before a link', mb('', '(', 'https://example.com/')],
    ['a www. host of single-letter labels', mb('www.', 'a.')],
    ['dashes', '-'.repeat(MB)],
    ['dashes before a scheme', mb('', '-', 'https://example.com/')],
    ['dashes before www.', mb('', '-', `www.${'a.'.repeat(1000)}`)],
    ['letters with no scheme', 'a'.repeat(MB)],
  ])('findLinkCandidates handles 1 MB of %s in under 100 ms', (_what, text) => {
    expectLinearTime('findLinkCandidates', () => findLinkCandidates(text));
  });

  test('on 1 MB of brackets, trailing-bracket trimming still gives the right link', () => {
    expect(findLinkCandidates(mb('https://example.com/a', ')'))).toEqual(['https://example.com/a']);
    const balanced = `https://example.com/${'('.repeat(1000)}${')'.repeat(1000)}`;
    expect(findLinkCandidates(`${balanced}${')'.repeat(MB)}.`)).toEqual([balanced]);
  });

  // With the default limit a long input is refused at once; without a limit every step runs.
  test.each<[string, string]>([
    ['closing parentheses in the path', mb('https://example.com/', ')')],
    ['slashes in a YouTube path', mb('https://www.youtube.com/', '/')],
    ['repeated /status/ on X', mb('https://x.com/', 'status/')],
    ['repeated /comments/ on Reddit', mb('https://www.reddit.com/r/', 'comments/')],
    ['repeated /p/ on Instagram', mb(`https://www.instagram.com/p/CxYz123abc/`, 'p/')],
    ['repeated showcase videos on Vimeo', mb('https://vimeo.com/showcase/', '1234567/video/')],
    ['tracking parameters to strip', mb('https://example.com/v?', 'utm_source=newsletter&fbclid=IwAR0aBcDeFgHiJkLmNoP&')],
    ['tracking parameters with distinct names', distinctParams('https://example.com/v?', (i) => `utm_${i}`)],
    [
      'YouTube referrer parameters with distinct names',
      distinctParams(`https://www.youtube.com/watch?v=${RICK}&`, (i) => `embeds_referring_${i}`),
    ],
    ['YouTube share parameters to strip', mb(`https://www.youtube.com/watch?v=${RICK}&`, 'si=AbCdEfGh12345678&')],
    ['a host of single-letter labels', mb('https://', 'a.', '/')],
    ['a www. link of single-letter labels', mb('www.', 'a.')],
    ['percent escapes', mb('https://example.com/', '%2F')],
    ['spaces inside a link', mb('https://example.com/', ' ')],
    ['dashes', '-'.repeat(MB)],
    ['letters with no scheme', 'a'.repeat(MB)],
  ])('parseMediaUrl handles 1 MB of %s in under 100 ms', (_what, input) => {
    expectLinearTime('parseMediaUrl', () => parseMediaUrl(input));
    expectLinearTime('parseMediaUrl without a length limit', () => parseMediaUrl(input, Infinity));
  });
});
