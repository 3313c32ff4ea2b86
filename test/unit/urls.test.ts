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
} from '../../lib/urls';

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
    ['strips s and t on mobile.twitter.com', 'https://mobile.twitter.com/jack/status/20?s=21&t=q', 'https://mobile.twitter.com/jack/status/20'],
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
    const found = findLinkCandidates('try ftp://files.example.com/v.mp4 or javascript:alert(1) or file:///etc/passwd or mailto:me@example.com or data:text/plain,hi');
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
    fc
      .tuple(fc.constantFrom('http://', 'https://', 'www.'), fc.string({ unit: 'grapheme-ascii' }))
      .map(([prefix, rest]) => prefix + rest),
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
