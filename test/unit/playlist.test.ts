import { playlistFolderName, settleEntries } from '../../activities/playlist';
import { entryStatusFromClosed, type DownloadInput, type PlaylistCounts } from '../../domain/downloads/definitions';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import { playlistText } from '../../domain/downloads/messages';

function source(link: string, mode: 'video' | 'audio' = 'video', options?: DownloadInput['options']): DownloadInput {
  const parsed = parseMediaUrl(link);
  if (!parsed.ok) throw new Error(link);
  return {
    contentKey: contentKeyFor(parsed.url, mode, options),
    url: link,
    normalizedUrl: parsed.url.normalized,
    platform: parsed.url.platform,
    videoId: parsed.url.videoId,
    mode,
    ...(options ? { options } : {}),
    correlationId: 'c',
    policy: {
      downloadTaskQueue: 'q',
      maxRetries: 1,
      retryBaseSeconds: 1,
      retryMaxSeconds: 1,
      diskRecheckSeconds: 1,
      diskWaitHours: 1,
      downloadTimeoutMinutes: 1,
      heartbeatTimeoutSeconds: 1,
    },
  };
}

describe('a playlist folder name', () => {
  test('is the title made safe: ASCII, no separators, never hidden or a parent', () => {
    expect(playlistFolderName('Three clips', 'ab'.repeat(32))).toBe('Three_clips');
    expect(playlistFolderName('../../etc/passwd', 'ab'.repeat(32))).toBe('etc_passwd');
    expect(playlistFolderName('.hidden', 'ab'.repeat(32))).toBe('hidden');
    expect(playlistFolderName('Café: les meilleurs / 2024', 'ab'.repeat(32))).toBe('Cafe_les_meilleurs_2024');
    expect(playlistFolderName('x'.repeat(500), 'ab'.repeat(32))).toHaveLength(80);
  });

  test('falls back to the short ID when the title leaves nothing', () => {
    expect(playlistFolderName(null, 'cd'.repeat(32))).toBe('playlist-cdcdcdcd');
    expect(playlistFolderName('日本語', 'cd'.repeat(32))).toBe('playlist-cdcdcdcd');
    expect(playlistFolderName('..', 'cd'.repeat(32))).toBe('playlist-cdcdcdcd');
  });
});

describe('settling listed entries', () => {
  test('each entry gets its content key in the playlist mode and options; repeats, bad links and the playlist itself are skipped', () => {
    const playlist = source('https://example.com/feed.rss', 'audio', { audioFormat: 'm4a' });
    const { entries, skipped } = settleEntries(playlist, [
      { url: 'https://example.com/a.mp3', title: 'A' },
      { url: 'https://example.com/a.mp3#again', title: 'A again' },
      { url: 'javascript:alert(1)', title: 'bad' },
      { url: 'https://example.com/feed.rss', title: 'itself' },
      { url: 'https://www.youtube.com/watch?v=dQw4w9WgXcQ', title: 'B' },
    ]);
    expect(skipped).toBe(3);
    expect(entries.map((e) => e.title)).toEqual(['A', 'B']);
    const b = parseMediaUrl('https://youtu.be/dQw4w9WgXcQ');
    if (!b.ok) throw new Error('bad');
    expect(entries[1]).toMatchObject({
      platform: 'youtube',
      videoId: 'dQw4w9WgXcQ',
      contentKey: contentKeyFor(b.url, 'audio', { audioFormat: 'm4a' }),
    });
  });
});

test('entries stop where their links and titles would pass the size budget (workflow payloads are bounded), and the list counts as capped', () => {
  const playlist = source('https://example.com/feed.rss');
  const listed = Array.from({ length: 50 }, (_, i) => ({ url: `https://example.com/${i}/${'a'.repeat(900)}.mp4`, title: 'x'.repeat(100) }));
  const { entries, cut } = settleEntries(playlist, listed, 20_000);
  expect(cut).toBe(true);
  expect(entries.length).toBeGreaterThan(5);
  expect(entries.length).toBeLessThan(12);
  expect(settleEntries(playlist, listed.slice(0, 3), 20_000).cut).toBe(false);
  // A link longer than intake takes is skipped, not cut.
  expect(settleEntries(playlist, [{ url: `https://example.com/${'b'.repeat(3000)}.mp4`, title: null }])).toMatchObject({
    entries: [],
    skipped: 1,
  });
});

describe('how a closed entry ended', () => {
  test('from its result, or from how Temporal closed it', () => {
    expect(entryStatusFromClosed('COMPLETED', { status: 'completed', fromCache: true, title: 't', filePath: 'f', sizeBytes: 1 })).toEqual({
      state: 'completed',
      fromCache: true,
    });
    expect(entryStatusFromClosed('COMPLETED', { status: 'failed', errorKind: 'NotFound', message: 'gone' })).toEqual({
      state: 'failed',
      message: 'gone',
    });
    expect(entryStatusFromClosed('TERMINATED', undefined)).toEqual({
      state: 'failed',
      message: 'its download was terminated by an operator',
    });
    expect(entryStatusFromClosed('CANCELLED', undefined)).toEqual({ state: 'cancelled' });
    expect(entryStatusFromClosed('TIMED_OUT', undefined)).toEqual({ state: 'failed', message: 'its download ended as timed out' });
  });
});

describe('what a playlist tells its requesters', () => {
  const counts: PlaylistCounts = {
    title: 'Show',
    total: 30,
    capped: false,
    pending: 0,
    running: 0,
    completed: 20,
    alreadyHad: 3,
    failed: 25 - 20 + 2,
    cancelled: 0,
  };

  test('queued: how many, from what, capped or not, where files go, the short ID', () => {
    const text = playlistText({ kind: 'queued', id: 'abcd1234', title: 'Show', total: 300, capped: true, skipped: 2, folder: 'Show' });
    expect(text).toContain('Queued 300 videos from "Show" [abcd1234]');
    expect(text).toContain('only the first 300 are taken (MAX_PLAYLIST_VIDEOS)');
    expect(text).toContain('2 entries left out');
    expect(text).toContain('Files go to: Show/');
  });

  test('the summary counts every outcome and names the first failures with their reasons', () => {
    const failures = Array.from({ length: 20 }, (_, i) => ({ name: `Episode ${i}`, reason: 'the video is not available' }));
    const text = playlistText({ kind: 'ended', id: 'abcd1234', title: 'Show', counts, folder: 'Show', failures });
    expect(text).toContain('🏁 Playlist "Show" finished [abcd1234]');
    expect(text).toContain('30 videos: downloaded: 20, already had: 3, failed: 7');
    expect(text).toContain('• Episode 0: the video is not available');
    expect(text.length).toBeLessThanOrEqual(4096);
  });

  test('a cancelled playlist names who cancelled it; a playlist that could not be listed says why', () => {
    const cancelled = playlistText({
      kind: 'ended',
      id: 'abcd1234',
      title: 'Show',
      counts: { ...counts, cancelled: 4 },
      folder: 'Show',
      failures: [],
      cancelledBy: { id: 'x', name: 'Ann' },
    });
    expect(cancelled).toContain('cancelled by Ann');
    expect(cancelled).toContain('cancelled: 4');
    const failed = playlistText({
      kind: 'ended',
      id: 'abcd1234',
      title: null,
      counts,
      folder: '',
      failures: [],
      error: 'the page was not found',
    });
    expect(failed).toContain('Reason: the page was not found');
  });
});
