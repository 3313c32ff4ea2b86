import {
  cancelledText,
  completedText,
  failedText,
  fitMessage,
  humanSize,
  MAX_MESSAGE_LENGTH,
  shortUrl,
} from '../../domain/downloads/messages';

describe('humanSize', () => {
  test.each<[number, string]>([
    [0, '0 B'],
    [1, '1 B'],
    [1023, '1023 B'],
    [1024, '1.0 KB'],
    [1536, '1.5 KB'],
    [46166, '45 KB'],
    [1024 * 1024, '1.0 MB'],
    [5.25 * 1024 * 1024, '5.3 MB'],
    [734 * 1024 * 1024, '734 MB'],
    [1024 ** 3, '1.0 GB'],
    [2.5 * 1024 ** 3, '2.5 GB'],
    [3 * 1024 ** 4, '3.0 TB'],
    [2048 * 1024 ** 4, '2048 TB'],
  ])('%d bytes -> %s', (bytes, text) => {
    expect(humanSize(bytes)).toBe(text);
  });

  test.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('%d is an unknown size', (bytes) => {
    expect(humanSize(bytes)).toBe('unknown size');
  });
});

describe('shortUrl', () => {
  test('keeps a short link and cuts a long one to the limit with an ellipsis', () => {
    expect(shortUrl('https://example.com/a')).toBe('https://example.com/a');
    const long = `https://example.com/${'x'.repeat(200)}`;
    const cut = shortUrl(long);
    expect(cut).toHaveLength(120);
    expect(cut.endsWith('…')).toBe(true);
    expect(long.startsWith(cut.slice(0, -1))).toBe(true);
    expect(shortUrl(long, 60)).toHaveLength(60);
  });
});

describe('completion and failure messages', () => {
  test('completedText has the title, the size, the path and the link', () => {
    const text = completedText('https://youtu.be/dQw4w9WgXcQ', {
      title: 'Never Gonna Give You Up',
      filePath: 'Never_Gonna_Give_You_Up-0123abcd.mp4',
      sizeBytes: 3.5 * 1024 * 1024,
    });
    expect(text.split('\n')).toEqual([
      '✅ Downloaded',
      'Never Gonna Give You Up',
      'Size: 3.5 MB',
      'Saved as: Never_Gonna_Give_You_Up-0123abcd.mp4',
      'Link: https://youtu.be/dQw4w9WgXcQ',
    ]);
  });

  test('failedText has the link and the reason', () => {
    const text = failedText('https://youtu.be/dQw4w9WgXcQ', 'the video has been removed or is unavailable');
    expect(text.split('\n')).toEqual([
      '❌ Download failed',
      'Link: https://youtu.be/dQw4w9WgXcQ',
      'Reason: the video has been removed or is unavailable',
    ]);
  });

  test('with the short ID every command accepts, in the heading', () => {
    expect(completedText('https://example.com/v', { title: 't', filePath: 'f.mp4', sizeBytes: 1 }, '1a2b3c4d').split('\n')[0]).toBe(
      '✅ Downloaded [1a2b3c4d]',
    );
    expect(failedText('https://example.com/v', 'why', '1a2b3c4d').split('\n')[0]).toBe('❌ Download failed [1a2b3c4d]');
  });

  test('cancelledText names who cancelled it', () => {
    expect(cancelledText('https://example.com/v', { id: 'telegram:7', name: 'Alice (@alice)' }, '1a2b3c4d').split('\n')).toEqual([
      '🚫 Download cancelled [1a2b3c4d]',
      'Link: https://example.com/v',
      'Cancelled by: Alice (@alice)',
    ]);
  });
});

describe('message length', () => {
  test('fitMessage leaves short text alone and cuts long text to the limit', () => {
    expect(fitMessage('short')).toBe('short');
    const cut = fitMessage('y'.repeat(10_000));
    expect(cut.length).toBe(MAX_MESSAGE_LENGTH);
    expect(cut.endsWith('…')).toBe(true);
  });
});
