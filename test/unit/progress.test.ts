import { progressBar, statusText } from '../../bot/progress';
import type { DownloadView } from '../../domain/downloads/client';

const base: DownloadView = {
  contentKey: 'ab'.repeat(32),
  shortId: 'abababab',
  url: 'https://example.com/v.mp4',
  state: 'downloading',
  platform: 'generic',
  requestedBy: ['1'],
  startedAt: new Date(0),
  closedAt: null,
  running: true,
  paused: false,
  pausedBy: null,
  subscribers: 1,
  progress: {
    percent: 62.4,
    downloadedBytes: 12.9 * 1024 ** 2,
    totalBytes: 20.7 * 1024 ** 2,
    speed: 2.1 * 1024 ** 2,
    etaSeconds: 254,
    attempt: 1,
  },
};

test('the status message: a bar, size, speed and ETA; the attempt while retrying; paused, waiting for disk, queued; the result', () => {
  expect(statusText(base, 6)).toBe(
    '⬇️ Downloading [abababab] https://example.com/v.mp4\n▓▓▓▓▓▓░░░░ 62%\n13 MB of 21 MB · 2.1 MB/s · ETA 4:14',
  );
  expect(statusText({ ...base, progress: { ...base.progress!, attempt: 2 } }, 6)).toMatch(/\nAttempt 2 of 6 \(retrying\)$/);
  expect(statusText({ ...base, paused: true, pausedBy: { id: 'telegram:1', name: 'Alice' } }, 6)).toBe(
    '⏸ Paused [abababab] https://example.com/v.mp4\nPaused by Alice',
  );
  expect(statusText({ ...base, state: 'waiting_for_disk', progress: null }, 6)).toBe(
    '💾 Waiting for disk space [abababab] https://example.com/v.mp4',
  );
  expect(statusText({ ...base, state: 'queued', progress: null }, 6)).toBe('⏳ Queued [abababab] https://example.com/v.mp4');
  expect(statusText({ ...base, running: false, state: 'completed' }, 6)).toMatch(/^✅ Downloaded \[abababab\]/);
  expect(statusText({ ...base, running: false, state: 'failed' }, 6)).toMatch(/^❌ Failed/);
  expect(statusText({ ...base, running: false, state: 'cancelled' }, 6)).toMatch(/^🚫 Cancelled/);
  expect(progressBar(0)).toBe('░░░░░░░░░░ 0%');
  expect(progressBar(100)).toBe('▓▓▓▓▓▓▓▓▓▓ 100%');
});
