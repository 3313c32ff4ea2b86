import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import { describeOptions, optionsKeyPart, parseOptionWords, settleOptions } from '../../domain/downloads/options';
import { buildYtDlpArgs, formatArgs } from '../../activities/ytdlp';

function url(link: string) {
  const parsed = parseMediaUrl(link);
  if (!parsed.ok) throw new Error(link);
  return parsed.url;
}

describe('options a request asks for', () => {
  test('/dl words: a quality (720, 720p, best) and a container, each once; anything else is named', () => {
    expect(parseOptionWords('video', ['720p', 'MKV'])).toEqual({ ok: true, asked: { maxHeight: 720, container: 'mkv' } });
    expect(parseOptionWords('video', ['1080'])).toEqual({ ok: true, asked: { maxHeight: 1080 } });
    expect(parseOptionWords('video', ['best'])).toEqual({ ok: true, asked: { maxHeight: 'best' } });
    expect(parseOptionWords('video', [])).toEqual({ ok: true, asked: {} });
    expect(parseOptionWords('video', ['721p'])).toMatchObject({ ok: false, message: expect.stringContaining('"721p" is not a quality') });
    expect(parseOptionWords('video', ['720p', '480p'])).toMatchObject({ ok: false, message: expect.stringContaining('repeats') });
    expect(parseOptionWords('video', ['avi'])).toMatchObject({ ok: false, message: expect.stringContaining('"avi" is not an option') });
    expect(parseOptionWords('video', ['m4a'])).toMatchObject({ ok: false });
  });

  test('/audio words: mp3 or m4a', () => {
    expect(parseOptionWords('audio', ['m4a'])).toEqual({ ok: true, asked: { audioFormat: 'm4a' } });
    expect(parseOptionWords('audio', ['720p'])).toMatchObject({ ok: false, message: expect.stringContaining('not an audio option') });
    // A monster word is shown cut.
    const long = parseOptionWords('audio', ['x'.repeat(500)]);
    expect(long.ok).toBe(false);
    expect(!long.ok && long.message.length).toBeLessThan(120);
  });

  test('settled with the configured defaults: the request wins, best lifts the cap, audio keeps only its format', () => {
    const defaults = { maxHeight: 1080 as const, container: 'mp4' as const };
    expect(settleOptions('video', {}, defaults)).toEqual({ maxHeight: 1080, container: 'mp4' });
    expect(settleOptions('video', { maxHeight: 720 }, defaults)).toEqual({ maxHeight: 720, container: 'mp4' });
    expect(settleOptions('video', { maxHeight: 'best' }, defaults)).toEqual({ container: 'mp4' });
    expect(settleOptions('video', {}, {})).toEqual({});
    expect(settleOptions('audio', {}, defaults)).toEqual({});
    expect(settleOptions('audio', { audioFormat: 'm4a' }, defaults)).toEqual({ audioFormat: 'm4a' });
    expect(settleOptions('audio', { audioFormat: 'mp3' }, defaults)).toEqual({});
  });

  test('options are part of the content key; the defaults add nothing, so older keys stay valid', () => {
    const link = url('https://example.com/v.mp4');
    expect(optionsKeyPart({})).toBe('');
    expect(optionsKeyPart(undefined)).toBe('');
    expect(optionsKeyPart({ maxHeight: 720, container: 'mkv' })).toBe('|h720|mkv');
    // A trial user's size cap makes a download of its own.
    expect(optionsKeyPart({ maxHeight: 720, maxBytes: 209_715_200 })).toBe('|h720|max209715200');
    expect(contentKeyFor(link, 'video', {})).toBe(contentKeyFor(link, 'video'));
    const keys = new Set([
      contentKeyFor(link, 'video'),
      contentKeyFor(link, 'video', { maxHeight: 720 }),
      contentKeyFor(link, 'video', { maxHeight: 720, container: 'mkv' }),
      contentKeyFor(link, 'audio'),
      contentKeyFor(link, 'audio', { audioFormat: 'm4a' }),
    ]);
    expect(keys.size).toBe(5);
    expect(describeOptions({ maxHeight: 720, container: 'mkv' })).toBe('720p, mkv');
    expect(describeOptions({ maxBytes: 209_715_200 })).toBe('at most 200 MB');
    expect(describeOptions({ maxBytes: 20 * 1024 })).toBe('at most 20 KB');
  });
});

describe('what yt-dlp is asked for', () => {
  test('a height cap is the format the issue names; a container is merged and remuxed with ffmpeg', () => {
    expect(formatArgs('video', { maxHeight: 720 })).toEqual(['-f', 'bv*[height<=720]+ba/b[height<=720]/b']);
    expect(formatArgs('video', { container: 'mkv' })).toEqual(['--merge-output-format', 'mkv', '--remux-video', 'mkv']);
    expect(formatArgs('video', { container: 'webm' })).toEqual(['-S', 'ext:webm:webm', '--merge-output-format', 'webm']);
    expect(formatArgs('video', {})).toEqual([]);
  });

  test('SKIP_HLS and SKIP_DASH filter protocols from every choice', () => {
    expect(formatArgs('video', {}, { hls: true, dash: false })).toEqual([
      '-f',
      'bv*[protocol!*=m3u8]+ba[protocol!*=m3u8]/b[protocol!*=m3u8]',
    ]);
    expect(formatArgs('video', { maxHeight: 480 }, { hls: true, dash: true })).toEqual([
      '-f',
      'bv*[height<=480][protocol!*=m3u8][protocol!*=dash]+ba[protocol!*=m3u8][protocol!*=dash]/b[height<=480][protocol!*=m3u8][protocol!*=dash]/b[protocol!*=m3u8][protocol!*=dash]',
    ]);
  });

  test('audio: extracted to mp3 unless m4a was asked for', () => {
    expect(formatArgs('audio')).toEqual(['--extract-audio', '--audio-format', 'mp3']);
    expect(formatArgs('audio', { audioFormat: 'm4a' })).toEqual(['--extract-audio', '--audio-format', 'm4a']);
  });

  test('the options, cookies copy and aria2c reach the command line, before the URL', () => {
    const args = buildYtDlpArgs({
      url: 'https://example.com/v',
      targetDir: '/d',
      incompleteDir: '/d/.incomplete',
      uniqueSuffix: 'abcdef012345',
      mode: 'video',
      options: { maxHeight: 720 },
      socketTimeoutSeconds: 10,
      maxFileSizeBytes: 1000,
      features: { jsRuntimes: false, noQuiet: false },
      nodePath: '/usr/bin/node',
      cookiesFile: '/tmp/copy/cookies.txt',
      aria2c: { connections: 4 },
    });
    const end = args.indexOf('--');
    expect(args.slice(end)).toEqual(['--', 'https://example.com/v']);
    const before = args.slice(0, end);
    expect(before).toEqual(
      expect.arrayContaining([
        '-f',
        'bv*[height<=720]+ba/b[height<=720]/b',
        '--cookies',
        '/tmp/copy/cookies.txt',
        '--downloader',
        'http:aria2c',
      ]),
    );
    expect(before[before.indexOf('--downloader-args') + 1]).toBe('aria2c:-x 4 -s 4 -k 1M');
  });
});
