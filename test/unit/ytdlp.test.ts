import path from 'node:path';
import {
  INCOMPLETE_DIR,
  MAX_TITLE_CHARS,
  NO_EXTRA_FEATURES,
  PROGRESS_MARK,
  RESULT_MARK,
  TITLE_MARK,
  buildYtDlpArgs,
  parseProgressLine,
  parseResultLine,
  parseTitleLine,
  type Progress,
  type YtDlpOptions,
} from '../../activities/ytdlp';
import { expectLinearTime, megabyteOf } from '../support/linear-time';

const MiB = 1024 * 1024;

describe('parseProgressLine with our MEDIADL_PROGRESS template', () => {
  test.each<[string, string, Progress]>([
    [
      'a partial download with known total, speed and eta',
      'MEDIADL_PROGRESS downloading 3072 46166 NA 1613436.249436514 0',
      { status: 'downloading', percent: 6.7, downloadedBytes: 3072, totalBytes: 46166, speed: 1613436.249436514, etaSeconds: 0 },
    ],
    [
      'the first chunk, before speed and eta are known',
      'MEDIADL_PROGRESS downloading 1024 46166 NA NA NA',
      { status: 'downloading', percent: 2.2, downloadedBytes: 1024, totalBytes: 46166, speed: null, etaSeconds: null },
    ],
    [
      'the finished line',
      'MEDIADL_PROGRESS finished 46166 46166 NA 3405276.51 NA',
      { status: 'finished', percent: 100, downloadedBytes: 46166, totalBytes: 46166, speed: 3405276.51, etaSeconds: null },
    ],
    [
      'an unknown total falling back to the estimate',
      'MEDIADL_PROGRESS downloading 500 NA 1000.5 NA NA',
      { status: 'downloading', percent: 50, downloadedBytes: 500, totalBytes: 1001, speed: null, etaSeconds: null },
    ],
    [
      'neither total nor estimate known',
      'MEDIADL_PROGRESS downloading 4096 NA NA 2048.0 NA',
      { status: 'downloading', percent: null, downloadedBytes: 4096, totalBytes: null, speed: 2048, etaSeconds: null },
    ],
    [
      'a fractional eta, rounded to whole seconds',
      'MEDIADL_PROGRESS downloading 10 100 NA 5 12.6',
      { status: 'downloading', percent: 10, downloadedBytes: 10, totalBytes: 100, speed: 5, etaSeconds: 13 },
    ],
    [
      'a finished fragment stream with no sizes at all',
      'MEDIADL_PROGRESS finished NA NA NA NA NA',
      { status: 'finished', percent: 100, downloadedBytes: null, totalBytes: null, speed: null, etaSeconds: null },
    ],
    [
      'an underestimated total, capped at 100%',
      'MEDIADL_PROGRESS downloading 1200 NA 1000 NA NA',
      { status: 'downloading', percent: 100, downloadedBytes: 1200, totalBytes: 1000, speed: null, etaSeconds: null },
    ],
    [
      'the error status',
      'MEDIADL_PROGRESS error 10 100 NA NA NA',
      { status: 'error', percent: 10, downloadedBytes: 10, totalBytes: 100, speed: null, etaSeconds: null },
    ],
    [
      'surrounding whitespace and a carriage return',
      '  MEDIADL_PROGRESS downloading 1024 46166 NA NA NA\r',
      { status: 'downloading', percent: 2.2, downloadedBytes: 1024, totalBytes: 46166, speed: null, etaSeconds: null },
    ],
  ])('reads %s', (_what, line, expected) => {
    expect(parseProgressLine(line)).toEqual(expected);
  });

  test('a total of 0 gives an unknown percentage rather than Infinity', () => {
    expect(parseProgressLine('MEDIADL_PROGRESS downloading 10 0 NA NA NA')).toMatchObject({ percent: null, totalBytes: 0 });
  });

  test('an unknown status is not progress', () => {
    expect(parseProgressLine('MEDIADL_PROGRESS paused 10 100 NA NA NA')).toBeNull();
    expect(parseProgressLine('MEDIADL_PROGRESS')).toBeNull();
  });

  test('the mark matches the one in the template we pass to yt-dlp', () => {
    const args = buildYtDlpArgs({
      url: 'https://example.com/v',
      targetDir: '/d',
      incompleteDir: '/d/.incomplete',
      uniqueSuffix: 'abcdef',
      mode: 'video',
      socketTimeoutSeconds: 30,
      maxFileSizeBytes: 1024 ** 3,
      features: NO_EXTRA_FEATURES,
      nodePath: '/usr/bin/node',
    });
    const template = args[args.indexOf('--progress-template') + 1]!;
    expect(template.startsWith(`download:${PROGRESS_MARK} `)).toBe(true);
    // Fields in the order parseProgressLine reads them.
    expect(template.match(/%\(progress\.(\w+)\)s/g)).toEqual([
      '%(progress.status)s',
      '%(progress.downloaded_bytes)s',
      '%(progress.total_bytes)s',
      '%(progress.total_bytes_estimate)s',
      '%(progress.speed)s',
      '%(progress.eta)s',
    ]);
  });
});

describe("parseProgressLine with yt-dlp's default progress lines", () => {
  test.each<[string, Progress]>([
    [
      '[download]  45.3% of 10.00MiB at  1.00MiB/s ETA 00:05',
      {
        status: 'downloading',
        percent: 45.3,
        downloadedBytes: Math.round(10 * MiB * 0.453),
        totalBytes: 10 * MiB,
        speed: MiB,
        etaSeconds: 5,
      },
    ],
    [
      '[download] 100% of   45.08KiB in 00:00:00 at 2.93MiB/s',
      {
        status: 'finished',
        percent: 100,
        downloadedBytes: Math.round(45.08 * 1024),
        totalBytes: Math.round(45.08 * 1024),
        speed: Math.round(2.93 * MiB),
        etaSeconds: null,
      },
    ],
    [
      '[download]  12.0% of ~ 120.50MiB at 3.20MiB/s ETA 01:02:03',
      {
        status: 'downloading',
        percent: 12,
        downloadedBytes: Math.round(Math.round(120.5 * MiB) * 0.12),
        totalBytes: Math.round(120.5 * MiB),
        speed: Math.round(3.2 * MiB),
        etaSeconds: 3723,
      },
    ],
    [
      '[download]   0.0% of 10.00MiB at Unknown B/s ETA Unknown',
      { status: 'downloading', percent: 0, downloadedBytes: 0, totalBytes: 10 * MiB, speed: null, etaSeconds: null },
    ],
    [
      '[download]  50.0% of 2.00GiB at  512.00KiB/s ETA 34:08',
      { status: 'downloading', percent: 50, downloadedBytes: 1024 * MiB, totalBytes: 2048 * MiB, speed: 512 * 1024, etaSeconds: 2048 },
    ],
    [
      '[download]  10.0% of 1.00MB at 100.00KB/s ETA 00:09',
      { status: 'downloading', percent: 10, downloadedBytes: 100_000, totalBytes: 1_000_000, speed: 100_000, etaSeconds: 9 },
    ],
    [
      '[download]  33.3% of 900B',
      { status: 'downloading', percent: 33.3, downloadedBytes: 300, totalBytes: 900, speed: null, etaSeconds: null },
    ],
  ])('reads %j', (line, expected) => {
    expect(parseProgressLine(line)).toEqual(expected);
  });

  test.each([
    '[youtube] Extracting URL: https://www.youtube.com/watch?v=dQw4w9WgXcQ',
    '[youtube] dQw4w9WgXcQ: Downloading webpage',
    '[info] dQw4w9WgXcQ: Downloading 1 format(s): 137+140',
    '[download] Destination: /srv/downloads/.incomplete/Rick-abcdef.f137.mp4',
    '[download] /srv/downloads/Rick-abcdef.mp4 has already been downloaded',
    '[download] Resuming download at byte 1024',
    '[Merger] Merging formats into "/srv/downloads/Rick-abcdef.mp4"',
    'WARNING: [youtube] Falling back to generic n function search',
    'ERROR: [youtube] dQw4w9WgXcQ: Video unavailable',
    'MEDIADL_RESULT {"title":"x","id":"y","filepath":"/d/x.mp4","extractor":"Generic"}',
    'download 45.3% of 10.00MiB',
    '',
    '   ',
  ])('returns null for a line that is not progress: %j', (line) => {
    expect(parseProgressLine(line)).toBeNull();
  });
});

describe('parsers are linear on adversarial lines', () => {
  test.each([
    ['"of" followed by spaces', `[download] 5% of${megabyteOf(' ')}x`],
    ['"of ~" followed by spaces', `[download] 5% of ~${megabyteOf(' ')}x`],
    ['spaces between every word', `[download]${megabyteOf(' ')}5%${megabyteOf(' ')}of${megabyteOf(' ')}1MiB${megabyteOf(' ')}at`],
    ['a size of endless digits', `[download] 5% of ${megabyteOf('1')}`],
    ['our mark and spaces', `${PROGRESS_MARK}${megabyteOf(' ')}x`],
    ['nothing but spaces', megabyteOf(' ')],
  ])('parseProgressLine: %s', (_what, line) => {
    expectLinearTime('parseProgressLine', () => parseProgressLine(line));
  });

  test('parseResultLine on a megabyte-long title', () => {
    const line = `${RESULT_MARK} ${JSON.stringify({ title: megabyteOf('a'), id: 'x', filepath: '/d/x.mp4', extractor: 'Generic' })}`;
    expectLinearTime('parseResultLine', () => parseResultLine(line));
  });
});

describe('parseResultLine', () => {
  test('caps the title (and id and extractor) a site controls, so workflow payloads stay small', () => {
    const line = `${RESULT_MARK} ${JSON.stringify({ title: '🎵'.repeat(10_000), id: 'i'.repeat(10_000), filepath: '/d/x.mp4', extractor: 'E'.repeat(10_000) })}`;
    const result = parseResultLine(line)!;
    expect(result.title.length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
    expect(result.title.endsWith('🎵…')).toBe(true); // cut between characters, never inside one
    expect(result.id.length).toBeLessThanOrEqual(200);
    expect(result.extractor!.length).toBeLessThanOrEqual(100);
  });

  test('reads a valid result line', () => {
    const line = `${RESULT_MARK} {"title":"Never Gonna Give You Up","id":"dQw4w9WgXcQ","filepath":"/srv/downloads/Never_Gonna_Give_You_Up-0123abcd.mp4","extractor":"Youtube"}`;
    expect(parseResultLine(line)).toEqual({
      title: 'Never Gonna Give You Up',
      id: 'dQw4w9WgXcQ',
      filepath: '/srv/downloads/Never_Gonna_Give_You_Up-0123abcd.mp4',
      extractor: 'Youtube',
    });
  });

  test('keeps unicode and quotes in the title, and tolerates a trailing carriage return', () => {
    const line = `${RESULT_MARK} {"title":"Ünïcødé \\"quoted\\" 🎵","id":"1","filepath":"/d/a.mp3","extractor":"Generic"}\r`;
    expect(parseResultLine(line)).toMatchObject({ title: 'Ünïcødé "quoted" 🎵', filepath: '/d/a.mp3' });
  });

  test.each([
    ['a missing filepath', `${RESULT_MARK} {"title":"x","id":"y","extractor":"Generic"}`],
    ['an empty filepath', `${RESULT_MARK} {"title":"x","id":"y","filepath":"","extractor":"Generic"}`],
    ['a filepath that is not a string', `${RESULT_MARK} {"title":"x","id":"y","filepath":null,"extractor":"Generic"}`],
    ['bad JSON', `${RESULT_MARK} {"title":"x","filepath":"/d/x.mp4"`],
    ['no JSON at all', `${RESULT_MARK} NA`],
    ['JSON null', `${RESULT_MARK} null`],
    ['a line without the mark', '{"title":"x","id":"y","filepath":"/d/x.mp4"}'],
    ['a progress line', 'MEDIADL_PROGRESS finished 46166 46166 NA 3405276.51 NA'],
  ])('returns null for %s', (_what, line) => {
    expect(parseResultLine(line)).toBeNull();
  });

  test.each([
    ['missing', `${RESULT_MARK} {"id":"y","filepath":"/srv/downloads/clip-abcdef.mp4","extractor":"Generic"}`],
    ['empty', `${RESULT_MARK} {"title":"","id":"y","filepath":"/srv/downloads/clip-abcdef.mp4","extractor":"Generic"}`],
    [
      'not a string (yt-dlp prints NA as null)',
      `${RESULT_MARK} {"title":null,"id":"y","filepath":"/srv/downloads/clip-abcdef.mp4","extractor":"Generic"}`,
    ],
  ])('falls back to the file name when the title is %s', (_what, line) => {
    expect(parseResultLine(line)).toMatchObject({ title: 'clip-abcdef.mp4', filepath: '/srv/downloads/clip-abcdef.mp4' });
  });

  test('a missing id becomes empty and a missing extractor becomes null', () => {
    expect(parseResultLine(`${RESULT_MARK} {"title":"t","filepath":"/d/t.mp4"}`)).toEqual({
      title: 't',
      id: '',
      filepath: '/d/t.mp4',
      extractor: null,
    });
  });
});

describe('buildYtDlpArgs', () => {
  const base: YtDlpOptions = {
    url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ',
    targetDir: '/srv/downloads',
    incompleteDir: '/srv/downloads/.incomplete',
    uniqueSuffix: '0123456789abcdef',
    mode: 'video',
    socketTimeoutSeconds: 30,
    maxFileSizeBytes: 4 * 1024 ** 3,
    features: NO_EXTRA_FEATURES,
    nodePath: '/opt/node/bin/node',
  };

  test('the URL is the last argument and comes right after "--"', () => {
    const args = buildYtDlpArgs(base);
    expect(args.at(-1)).toBe(base.url);
    expect(args.at(-2)).toBe('--');
    expect(args.filter((a) => a === '--')).toHaveLength(1);
  });

  test.each([
    'https://x.com/a;rm -rf /',
    'https://example.com/$(reboot)?a=`id`&b=|cat /etc/passwd',
    '--exec=touch /tmp/pwned',
    'https://example.com/it\'s "quoted" > out.txt',
  ])('passes %j verbatim as a single argv element after "--"', (url) => {
    const args = buildYtDlpArgs({ ...base, url });
    expect(args.at(-1)).toBe(url);
    expect(args.at(-2)).toBe('--');
    expect(args.filter((a) => a.includes(url))).toEqual([url]);
  });

  test('ignores operator config and resumes partial files', () => {
    const args = buildYtDlpArgs(base);
    expect(args).toContain('--ignore-config');
    expect(args).toContain('--continue');
    expect(args).toContain('--no-playlist');
    expect(args.indexOf('--ignore-config')).toBeLessThan(args.indexOf('--'));
  });

  test('passes the socket timeout as the value after --socket-timeout', () => {
    const args = buildYtDlpArgs({ ...base, socketTimeoutSeconds: 45 });
    expect(args[args.indexOf('--socket-timeout') + 1]).toBe('45');
  });

  test('puts partial files under .incomplete inside the download dir and names files with the suffix', () => {
    const args = buildYtDlpArgs(base);
    const paths = args.flatMap((a, i) => (a === '--paths' ? [args[i + 1]] : []));
    expect(paths).toEqual(['/srv/downloads', `temp:${path.join('/srv/downloads', INCOMPLETE_DIR)}`]);
    expect(args[args.indexOf('--output') + 1]).toBe('%(title).120B-0123456789abcdef.%(ext)s');
  });

  test('prints a result line and a title line that the parsers understand, the file first', () => {
    const args = buildYtDlpArgs(base);
    const prints = args.flatMap((a, i) => (a === '--print' ? [args[i + 1]!] : []));
    expect(prints.map((p) => p.split(' ')[0])).toEqual([`after_move:${RESULT_MARK}`, `after_move:${TITLE_MARK}`]);
    // What yt-dlp prints once the %(...)j fields are filled in with JSON values.
    const fill = (template: string) =>
      template
        .replace(/^after_move:/, '')
        .replace('%(title)j', '"A title"')
        .replace('%(id)j', '"abc"')
        .replace('%(filepath)j', '"/srv/downloads/A_title-0123456789abcdef.mp4"')
        .replace('%(extractor)j', '"youtube"');
    expect(parseResultLine(fill(prints[0]!))).toEqual({
      title: 'A_title-0123456789abcdef.mp4', // until the title line says better
      id: 'abc',
      filepath: '/srv/downloads/A_title-0123456789abcdef.mp4',
      extractor: 'youtube',
    });
    expect(parseTitleLine(fill(prints[1]!))).toBe('A title');
  });

  test('a title line cut by the line cap (invalid JSON) gives no title rather than a wrong one', () => {
    expect(parseTitleLine(`${TITLE_MARK} "${'x'.repeat(100)}`)).toBeNull();
    expect(parseTitleLine(`${TITLE_MARK} null`)).toBeNull();
    expect(parseTitleLine(`${TITLE_MARK} "${'🎵'.repeat(1000)}"`)!.length).toBeLessThanOrEqual(MAX_TITLE_CHARS);
  });

  test('audio mode extracts mp3 audio; video mode does not', () => {
    const audio = buildYtDlpArgs({ ...base, mode: 'audio' });
    expect(audio).toContain('--extract-audio');
    expect(audio[audio.indexOf('--audio-format') + 1]).toBe('mp3');
    expect(audio.indexOf('--extract-audio')).toBeLessThan(audio.indexOf('--'));
    expect(audio.at(-1)).toBe(base.url);

    const video = buildYtDlpArgs(base);
    expect(video).not.toContain('--extract-audio');
    expect(video).not.toContain('--audio-format');
  });

  test.each(['', 'abc', 'ABCDEF', 'xyz123', '0123456789abcdeg', '../../etc', 'abcdef; rm -rf /', 'a'.repeat(65)])(
    'throws for a uniqueSuffix that is not 6-64 lower-case hex: %j',
    (uniqueSuffix) => {
      expect(() => buildYtDlpArgs({ ...base, uniqueSuffix })).toThrow('uniqueSuffix must be hex');
    },
  );

  test('passes MAX_FILE_SIZE in bytes and refuses playlists by a break-match filter', () => {
    const args = buildYtDlpArgs(base);
    expect(args[args.indexOf('--max-filesize') + 1]).toBe(String(4 * 1024 ** 3));
    expect(args[args.indexOf('--break-match-filters') + 1]).toBe('!playlist_id');
  });

  test("offers the worker's Node as JavaScript runtime and keeps notices only when this yt-dlp supports it", () => {
    const plain = buildYtDlpArgs(base);
    expect(plain).not.toContain('--js-runtimes');
    expect(plain).not.toContain('--no-quiet');
    const current = buildYtDlpArgs({ ...base, features: { jsRuntimes: true, noQuiet: true } });
    expect(current[current.indexOf('--js-runtimes') + 1]).toBe('node:/opt/node/bin/node');
    expect(current).toContain('--no-quiet');
    expect(current.indexOf('--js-runtimes')).toBeLessThan(current.indexOf('--'));
  });

  test('accepts a full sha256 hex digest as uniqueSuffix', () => {
    const suffix = 'a'.repeat(64);
    expect(() => buildYtDlpArgs({ ...base, uniqueSuffix: suffix })).not.toThrow();
  });
});
