import { ERROR_KINDS, classifyYtDlpFailure, isDiskFullError, isErrorKind, make, type ErrorKind } from '../../domain/downloads/errors';
import { expectLinearTime, megabyteOf } from '../support/linear-time';

const REPORT =
  '; please report this issue on  https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue template. Confirm you are on the latest version using  yt-dlp -U';
const EXIT_1 = { code: 1, signal: null };

const PERMANENT: ErrorKind[] = [
  'StorageUnusable',
  'NotFound',
  'Unavailable',
  'Private',
  'GeoBlocked',
  'Unsupported',
  'NoFormats',
  'Forbidden',
  'PrivateAddress',
  'Playlist',
  'NotMedia',
  'TooLarge',
  'UnsafeFile',
];
const TRANSIENT: ErrorKind[] = ['Network', 'ServerError', 'RateLimited', 'DiskFull', 'Interrupted', 'Unknown'];

describe('ERROR_KINDS', () => {
  test('permanent kinds are not retried and transient kinds are', () => {
    expect(Object.keys(ERROR_KINDS).sort()).toEqual([...PERMANENT, ...TRANSIENT].sort());
    for (const kind of PERMANENT) expect(ERROR_KINDS[kind].retryable).toBe(false);
    for (const kind of TRANSIENT) expect(ERROR_KINDS[kind].retryable).toBe(true);
  });

  test('isErrorKind accepts the kinds and nothing else', () => {
    for (const kind of [...PERMANENT, ...TRANSIENT]) expect(isErrorKind(kind)).toBe(true);
    for (const value of ['DiskLow', 'notfound', 'toString', 'constructor', '__proto__', '', 42, null, undefined]) {
      expect(isErrorKind(value)).toBe(false);
    }
  });

  test('make caps the detail at 500 characters', () => {
    const made = make('Unknown', 'x'.repeat(2000));
    expect(made.detail).toHaveLength(500);
    expect(made).toMatchObject({ kind: 'Unknown', retryable: true, message: ERROR_KINDS.Unknown.message });
  });
});

describe('classifyYtDlpFailure on real yt-dlp error lines', () => {
  test.each<[string, ErrorKind, string]>([
    // Permanent
    [
      `ERROR: [generic] None: Unable to download webpage: HTTP Error 404: File not found (caused by <HTTPError 404: 'File not found'>)${REPORT}`,
      'NotFound',
      '[generic] None: Unable to download webpage: HTTP Error 404: File not found',
    ],
    [
      `ERROR: [generic] None: Unable to download webpage: HTTP Error 410: Gone (caused by <HTTPError 410: 'Gone'>)${REPORT}`,
      'NotFound',
      '[generic] None: Unable to download webpage: HTTP Error 410: Gone',
    ],
    [
      'ERROR: unable to download video data: HTTP Error 404: Not Found',
      'NotFound',
      'unable to download video data: HTTP Error 404: Not Found',
    ],
    ['ERROR: Unsupported URL: http://127.0.0.1:18999/page.html', 'Unsupported', 'Unsupported URL: http://127.0.0.1:18999/page.html'],
    [
      `ERROR: [SomeSite] 4815162342: Unable to extract video url${REPORT}`,
      'Unsupported',
      '[SomeSite] 4815162342: Unable to extract video url',
    ],
    [
      `ERROR: 'not-a-link' is not a valid URL. Set --default-search "ytsearch" (or run  yt-dlp "ytsearch:not-a-link" ) to search YouTube`,
      'Unsupported',
      `'not-a-link' is not a valid URL. Set --default-search "ytsearch" (or run  yt-dlp "ytsearch:not-a-link" ) to search YouTube`,
    ],
    ['ERROR: [youtube] dQw4w9WgXcQ: Video unavailable', 'Unavailable', '[youtube] dQw4w9WgXcQ: Video unavailable'],
    [
      'ERROR: [youtube] dQw4w9WgXcQ: Video unavailable. This video has been removed by the uploader',
      'Unavailable',
      '[youtube] dQw4w9WgXcQ: Video unavailable. This video has been removed by the uploader',
    ],
    [
      'ERROR: [youtube] abc: Video unavailable. This video is no longer available because the YouTube account associated with this video has been terminated.',
      'Unavailable',
      '[youtube] abc: Video unavailable. This video is no longer available because the YouTube account associated with this video has been terminated.',
    ],
    [
      "ERROR: [youtube] abc: Private video. Sign in if you've been granted access to this video",
      'Private',
      "[youtube] abc: Private video. Sign in if you've been granted access to this video",
    ],
    [
      'ERROR: [youtube] abc: Sign in to confirm your age. This video may be inappropriate for some users.',
      'Private',
      '[youtube] abc: Sign in to confirm your age. This video may be inappropriate for some users.',
    ],
    [
      'ERROR: [youtube] abc: Join this channel to get access to members-only content like this video, and other exclusive perks.',
      'Private',
      '[youtube] abc: Join this channel to get access to members-only content like this video, and other exclusive perks.',
    ],
    [
      'ERROR: [youtube] abc: The uploader has not made this video available in your country',
      'GeoBlocked',
      '[youtube] abc: The uploader has not made this video available in your country',
    ],
    [
      'ERROR: [youtube] abc: The uploader has not made this video available in your country. This video is available in Germany, France. You might want to use a VPN or a proxy server (with --proxy) to workaround.',
      'GeoBlocked',
      '[youtube] abc: The uploader has not made this video available in your country. This video is available in Germany, France. You might want to use a VPN or a proxy server (with --proxy) to workaround.',
    ],
    [
      'ERROR: [SomeTV] 123: This video is not available from your location due to geo restriction',
      'GeoBlocked',
      '[SomeTV] 123: This video is not available from your location due to geo restriction',
    ],
    [
      'ERROR: [youtube] abc: Requested format is not available. Use --list-formats for a list of available formats',
      'NoFormats',
      '[youtube] abc: Requested format is not available. Use --list-formats for a list of available formats',
    ],
    [`ERROR: [generic] None: No video formats found!${REPORT}`, 'NoFormats', '[generic] None: No video formats found!'],
    [
      `ERROR: [generic] None: Unable to download webpage: HTTP Error 401: Unauthorized (caused by <HTTPError 401: 'Unauthorized'>)${REPORT}`,
      'Forbidden',
      '[generic] None: Unable to download webpage: HTTP Error 401: Unauthorized',
    ],
    [
      'ERROR: unable to download video data: HTTP Error 451: Unavailable For Legal Reasons',
      'Forbidden',
      'unable to download video data: HTTP Error 451: Unavailable For Legal Reasons',
    ],
    // Transient
    [
      "ERROR: [generic] None: Unable to download webpage: <urlopen error [Errno 111] Connection refused> (caused by URLError(ConnectionRefusedError(111, 'Connection refused')))",
      'Network',
      '[generic] None: Unable to download webpage: <urlopen error [Errno 111] Connection refused>',
    ],
    [
      "ERROR: [generic] None: Unable to download webpage: <urlopen error [Errno -2] Name or service not known> (caused by URLError(gaierror(-2, 'Name or service not known')))",
      'Network',
      '[generic] None: Unable to download webpage: <urlopen error [Errno -2] Name or service not known>',
    ],
    [
      'ERROR: unable to download video data: <urlopen error [Errno 104] Connection reset by peer>',
      'Network',
      'unable to download video data: <urlopen error [Errno 104] Connection reset by peer>',
    ],
    [
      "ERROR: [generic] None: Unable to download webpage: Remote end closed connection without response (caused by RemoteDisconnected('Remote end closed connection without response'))",
      'Network',
      '[generic] None: Unable to download webpage: Remote end closed connection without response',
    ],
    ['ERROR: [download] Got error: The read operation timed out', 'Network', '[download] Got error: The read operation timed out'],
    [
      "ERROR: [download] Got error: HTTPSConnectionPool(host='rr3---sn-4g5e6nzz.googlevideo.com', port=443): Read timed out. Giving up after 2 retries",
      'Network',
      "[download] Got error: HTTPSConnectionPool(host='rr3---sn-4g5e6nzz.googlevideo.com', port=443): Read timed out. Giving up after 2 retries",
    ],
    [
      'ERROR: [download] Got server HTTP error: Downloaded 1024 bytes, expected 46166 bytes',
      'Network',
      '[download] Got server HTTP error: Downloaded 1024 bytes, expected 46166 bytes',
    ],
    [
      'ERROR: [download] Got error: Downloaded 1024 bytes, expected 46166 bytes. Giving up after 2 retries',
      'Network',
      '[download] Got error: Downloaded 1024 bytes, expected 46166 bytes. Giving up after 2 retries',
    ],
    [
      'ERROR: content too short (expected 46166 bytes and served 1024)',
      'Network',
      'content too short (expected 46166 bytes and served 1024)',
    ],
    [
      'ERROR: unable to download video data: HTTP Error 403: Forbidden',
      'Network',
      'unable to download video data: HTTP Error 403: Forbidden',
    ],
    [
      `ERROR: [generic] None: Unable to download webpage: HTTP Error 503: Service Unavailable (caused by <HTTPError 503: 'Service Unavailable'>)${REPORT}`,
      'ServerError',
      '[generic] None: Unable to download webpage: HTTP Error 503: Service Unavailable',
    ],
    [
      `ERROR: [generic] None: Unable to download webpage: HTTP Error 502: Bad Gateway (caused by <HTTPError 502: 'Bad Gateway'>)${REPORT}`,
      'ServerError',
      '[generic] None: Unable to download webpage: HTTP Error 502: Bad Gateway',
    ],
    [
      'ERROR: [download] Got error: HTTP Error 500: Internal Server Error. Giving up after 2 retries',
      'ServerError',
      '[download] Got error: HTTP Error 500: Internal Server Error. Giving up after 2 retries',
    ],
    [
      `ERROR: [youtube] abc: Unable to download API page: HTTP Error 429: Too Many Requests (caused by <HTTPError 429: 'Too Many Requests'>)${REPORT}`,
      'RateLimited',
      '[youtube] abc: Unable to download API page: HTTP Error 429: Too Many Requests',
    ],
    [
      'ERROR: unable to download video data: HTTP Error 429: Too Many Requests',
      'RateLimited',
      'unable to download video data: HTTP Error 429: Too Many Requests',
    ],
    [
      'ERROR: unable to write data: [Errno 28] No space left on device',
      'DiskFull',
      'unable to write data: [Errno 28] No space left on device',
    ],
    [
      "ERROR: unable to open for writing: [Errno 28] No space left on device: '/srv/downloads/.incomplete/clip-abc123.mp4.part'",
      'DiskFull',
      "unable to open for writing: [Errno 28] No space left on device: '/srv/downloads/.incomplete/clip-abc123.mp4.part'",
    ],
    ['ERROR: Postprocessing: [Errno 122] Disk quota exceeded', 'DiskFull', 'Postprocessing: [Errno 122] Disk quota exceeded'],
    [
      `ERROR: The extracted extension ('sh') is unusual and will be skipped for safety reasons. If you believe this is an error${REPORT}`,
      'UnsafeFile',
      "The extracted extension ('sh') is unusual and will be skipped for safety reasons. If you believe this is an error",
    ],
  ])('%s -> %s', (line, kind, detail) => {
    const result = classifyYtDlpFailure(`${line}\n`, EXIT_1);
    expect(result.kind).toBe(kind);
    expect(result.retryable).toBe(ERROR_KINDS[kind].retryable);
    expect(result.retryable).toBe(TRANSIENT.includes(kind));
    expect(result.message).toBe(ERROR_KINDS[kind].message);
    expect(result.message).not.toMatch(/please report this issue|ERROR:|yt-dlp -U/i);
    expect(result.detail).toBe(detail);
    expect(result.detail).not.toMatch(/please report this issue|caused by|^ERROR:/i);
  });

  test('a realistic run with warnings, progress and one ERROR line is classified by that line', () => {
    const stderr = [
      'WARNING: [youtube] Falling back to generic n function search',
      '[youtube] Extracting URL: https://www.youtube.com/watch?v=dQw4w9WgXcQ',
      '[youtube] dQw4w9WgXcQ: Downloading webpage',
      'ERROR: [youtube] dQw4w9WgXcQ: Video unavailable',
      '',
    ].join('\n');
    expect(classifyYtDlpFailure(stderr, EXIT_1)).toMatchObject({
      kind: 'Unavailable',
      retryable: false,
      detail: '[youtube] dQw4w9WgXcQ: Video unavailable',
    });
  });

  test('reads Windows line endings', () => {
    const stderr = 'WARNING: something\r\nERROR: unable to write data: [Errno 28] No space left on device\r\n';
    expect(classifyYtDlpFailure(stderr, EXIT_1)).toMatchObject({
      kind: 'DiskFull',
      detail: 'unable to write data: [Errno 28] No space left on device',
    });
  });
});

describe('classifyYtDlpFailure picks the deciding line', () => {
  test('the LAST ERROR line wins when there are several', () => {
    const rateLimitedThenGone = [
      'ERROR: [youtube] abc: Unable to download API page: HTTP Error 429: Too Many Requests',
      'ERROR: [youtube] abc: Video unavailable',
    ].join('\n');
    expect(classifyYtDlpFailure(rateLimitedThenGone, EXIT_1)).toMatchObject({ kind: 'Unavailable', retryable: false });

    const goneThenRateLimited = [
      'ERROR: [youtube] abc: Video unavailable',
      'ERROR: [youtube] abc: Unable to download API page: HTTP Error 429: Too Many Requests',
    ].join('\n');
    expect(classifyYtDlpFailure(goneThenRateLimited, EXIT_1)).toMatchObject({ kind: 'RateLimited', retryable: true });
  });

  test('an ERROR line outranks a later warning that mentions another problem', () => {
    const stderr = [
      "ERROR: [youtube] abc: Private video. Sign in if you've been granted access to this video",
      'WARNING: [download] Got error: The read operation timed out. Retrying (1/2)...',
    ].join('\n');
    expect(classifyYtDlpFailure(stderr, EXIT_1).kind).toBe('Private');
  });

  test('without any ERROR line a recognisable warning still decides', () => {
    const stderr = '[download] Got error: The read operation timed out. Retrying (1/2)...\n';
    expect(classifyYtDlpFailure(stderr, EXIT_1)).toMatchObject({ kind: 'Network', retryable: true });
  });

  test('killed by a signal with no ERROR line -> Interrupted, retryable', () => {
    const stderr = 'WARNING: [youtube] Falling back to generic n function search\n';
    expect(classifyYtDlpFailure(stderr, { code: null, signal: 'SIGKILL' })).toEqual({
      kind: 'Interrupted',
      retryable: true,
      message: ERROR_KINDS.Interrupted.message,
      detail: 'yt-dlp was stopped by SIGKILL',
    });
    expect(classifyYtDlpFailure('', { code: null, signal: 'SIGTERM' })).toMatchObject({ kind: 'Interrupted', retryable: true });
  });

  test('empty stderr with exit code 1 -> Unknown, retryable, naming the exit code', () => {
    expect(classifyYtDlpFailure('', EXIT_1)).toEqual({
      kind: 'Unknown',
      retryable: true,
      message: ERROR_KINDS.Unknown.message,
      detail: 'yt-dlp exited with code 1',
    });
  });

  test('an unrecognised ERROR line -> Unknown, with that line (tidied) as detail', () => {
    const stderr = `[info] something\nERROR: [weird] 1: Something nobody has seen before (caused by Oops())${REPORT}\n[info] after\n`;
    expect(classifyYtDlpFailure(stderr, EXIT_1)).toMatchObject({
      kind: 'Unknown',
      retryable: true,
      detail: '[weird] 1: Something nobody has seen before',
    });
  });

  test('an unrecognised run without ERROR lines -> Unknown, with the last line as detail', () => {
    expect(classifyYtDlpFailure('first line\nTraceback (most recent call last): boom\n', { code: 2, signal: null })).toMatchObject({
      kind: 'Unknown',
      detail: 'Traceback (most recent call last): boom',
    });
  });
});

describe('classifyYtDlpFailure on what yt-dlp 2025.04.30 prints for our own limits', () => {
  test('exit code 101 (our --break-match-filters rule stopped a playlist) -> Playlist, permanent', () => {
    const notices =
      '[download] entry does not pass filter (!playlist_id), skipping ..\n[info] Encountered a video that did not match filter, stopping due to --break-match-filter\n';
    expect(classifyYtDlpFailure('', { code: 101, signal: null }, notices)).toMatchObject({ kind: 'Playlist', retryable: false });
  });

  test('the max-filesize notice on stdout -> TooLarge, permanent', () => {
    const notices =
      '[info] b: Downloading 1 format(s): mp4\n[download] File is larger than max-filesize (45258 bytes > 1000 bytes). Aborting.\n';
    expect(classifyYtDlpFailure('', { code: 0, signal: null }, notices)).toMatchObject({
      kind: 'TooLarge',
      retryable: false,
      detail: '[download] File is larger than max-filesize (45258 bytes > 1000 bytes). Aborting.',
    });
  });
});

describe('words a site or link chooses do not decide the kind', () => {
  test.each<[string, string, ErrorKind]>([
    [
      'an ID that says "members-only"',
      'ERROR: [generic] members-only-clip: Unable to download webpage: HTTP Error 503: Service Unavailable',
      'ServerError',
    ],
    [
      'an ID that says "no space left on device"',
      'ERROR: [generic] no space left on device: Unable to download webpage: <urlopen error [Errno 111] Connection refused>',
      'Network',
    ],
    [
      'an ID that says "Video unavailable"',
      'ERROR: [generic] Video unavailable: Unable to download webpage: HTTP Error 404: Not Found',
      'NotFound',
    ],
    [
      'a reason phrase that says "No space left on device"',
      'ERROR: unable to download video data: HTTP Error 500: No space left on device',
      'ServerError',
    ],
    [
      'a reason phrase that says "Private video"',
      'ERROR: [generic] x: Unable to download webpage: HTTP Error 404: Private video',
      'NotFound',
    ],
  ])('%s', (_what, line, kind) => {
    expect(classifyYtDlpFailure(line, EXIT_1).kind).toBe(kind);
  });
});

describe('classifyYtDlpFailure is linear on adversarial output', () => {
  test.each([
    ['spaces after ERROR:', `ERROR: ${megabyteOf(' ')}x`],
    ['"account" repeated (account ... private)', megabyteOf('account ')],
    ['"cookies" repeated (cookies ... needed)', megabyteOf('cookies ')],
    ['"account" repeated on many lines', megabyteOf('account account account\n')],
    ['"; " before the report boilerplate', `ERROR: x${megabyteOf('; ')}please report this issue on`],
    ['whitespace before "(caused by"', `ERROR: x${megabyteOf(' \t')}(caused by x`],
    ['"HTTP Error 5" repeated', megabyteOf('HTTP Error 5')],
    ['"Downloaded 1" digits', `Downloaded ${megabyteOf('1')}`],
    ['one character per line', megabyteOf('x\n')],
  ])('%s', (_what, stderr) => {
    expectLinearTime('classifyYtDlpFailure', () => classifyYtDlpFailure(stderr, EXIT_1, stderr));
  });
});

test('a full disk or quota is a disk-full error; other system errors and non-errors are not', () => {
  expect(isDiskFullError(Object.assign(new Error('no space'), { code: 'ENOSPC' }))).toBe(true);
  expect(isDiskFullError(Object.assign(new Error('quota'), { code: 'EDQUOT' }))).toBe(true);
  expect(isDiskFullError(Object.assign(new Error('denied'), { code: 'EACCES' }))).toBe(false);
  expect(isDiskFullError(new Error('plain'))).toBe(false);
  expect(isDiskFullError(null)).toBe(false);
});
