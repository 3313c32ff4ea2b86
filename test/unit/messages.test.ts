import {
  fitMessage,
  MAX_MESSAGE_LENGTH,
  completedText,
  failedText,
  humanSize,
  internalErrorText,
  intakeReplyText,
  shortUrl,
  type IntakeReport,
} from '../../lib/messages';
import { REJECTION_REASONS } from '../../lib/urls';

const emptyReport: IntakeReport = {
  queued: [],
  joined: [],
  alreadyDone: [],
  duplicates: [],
  rejected: [],
  failed: [],
  correlationId: 'a1b2c3d4e5f6',
};

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

describe('intakeReplyText', () => {
  test('lists every section with its links', () => {
    const text = intakeReplyText({
      queued: ['https://youtu.be/dQw4w9WgXcQ', 'https://vimeo.com/76979871'],
      joined: ['https://x.com/NASA/status/1676695419548790784'],
      alreadyDone: [
        {
          url: 'https://www.youtube.com/watch?v=jNQXAC9IVRw',
          file: { title: 'Me at the zoo', filePath: 'Me_at_the_zoo-abcdef.mp4', sizeBytes: 46166 },
        },
      ],
      duplicates: ['https://youtu.be/dQw4w9WgXcQ?si=x'],
      rejected: [
        { input: 'ftp://example.com/f.mp4', reason: 'unsupported_scheme' },
        { input: '-https://evil.example', reason: 'leading_dash' },
        { input: 'https://example.com/51', reason: 'too_many' },
      ],
      failed: ['https://example.com/later'],
      correlationId: 'a1b2c3d4e5f6',
    });
    const lines = text.split('\n');

    expect(lines).toContain('Queued 2 downloads:');
    expect(lines).toContain('• https://youtu.be/dQw4w9WgXcQ');
    expect(lines).toContain('• https://vimeo.com/76979871');

    expect(lines).toContain('Already downloading (you will be told when it finishes):');
    expect(lines).toContain('• https://x.com/NASA/status/1676695419548790784');

    expect(lines).toContain('Already downloaded:');
    expect(lines).toContain('• Me at the zoo (45 KB) - Me_at_the_zoo-abcdef.mp4 [https://www.youtube.com/watch?v=jNQXAC9IVRw]');

    expect(lines).toContain('Repeated in this message (counted once):');
    expect(lines).toContain('• https://youtu.be/dQw4w9WgXcQ?si=x');

    expect(lines).toContain('Not accepted:');
    expect(lines).toContain(`• ftp://example.com/f.mp4 - ${REJECTION_REASONS.unsupported_scheme}`);
    expect(lines).toContain(`• -https://evil.example - ${REJECTION_REASONS.leading_dash}`);
    expect(lines).toContain('• https://example.com/51 - too many links in one message');

    expect(lines).toContain('Could not be queued right now, please send again later (ref: a1b2c3d4e5f6):');
    expect(lines).toContain('• https://example.com/later');

    // Sections appear in a fixed order, what needs the user's action first (a cut-short
    // reply never loses it), separated by blank lines, with no leading or trailing blank.
    const headings = lines.filter((l) => l.endsWith(':') && !l.startsWith('•'));
    expect(headings).toEqual([
      'Could not be queued right now, please send again later (ref: a1b2c3d4e5f6):',
      'Queued 2 downloads:',
      'Already downloading (you will be told when it finishes):',
      'Already downloaded:',
      'Repeated in this message (counted once):',
      'Not accepted:',
    ]);
    expect(lines[0]).toBe('Could not be queued right now, please send again later (ref: a1b2c3d4e5f6):');
    expect(lines[1]).toBe('• https://example.com/later');
    expect(lines.filter((l) => l === '')).toHaveLength(5);
  });

  test('says "1 download" for a single queued link and omits every empty section', () => {
    const text = intakeReplyText({ ...emptyReport, queued: ['https://youtu.be/dQw4w9WgXcQ'] });
    expect(text).toBe('Queued 1 download:\n• https://youtu.be/dQw4w9WgXcQ');
  });

  test('omits the queued section when nothing was queued', () => {
    const text = intakeReplyText({ ...emptyReport, rejected: [{ input: 'https://u:p@example.com/', reason: 'has_credentials' }] });
    expect(text).toBe(`Not accepted:\n• https://u:p@example.com/ - ${REJECTION_REASONS.has_credentials}`);
    expect(text).not.toContain('Queued');
    expect(text).not.toContain('ref:');
  });

  test('names the correlation ref only in the failed section', () => {
    const text = intakeReplyText({ ...emptyReport, failed: ['https://example.com/a'] });
    expect(text).toBe('Could not be queued right now, please send again later (ref: a1b2c3d4e5f6):\n• https://example.com/a');
  });

  test('shortens monster links in the reply', () => {
    const monster = `https://example.com/${'a'.repeat(500)}`;
    const text = intakeReplyText({ ...emptyReport, queued: [monster], rejected: [{ input: monster, reason: 'too_long' }] });
    expect(text).not.toContain(monster);
    expect(text).toContain(`• ${shortUrl(monster)}`);
    expect(text).toContain(`• ${shortUrl(monster, 60)} - ${REJECTION_REASONS.too_long}`);
  });

  test('an empty report gives an empty reply', () => {
    expect(intakeReplyText(emptyReport)).toBe('');
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

  test('internalErrorText gives the ref to quote', () => {
    expect(internalErrorText('a1b2c3d4e5f6')).toMatch(/\(ref: a1b2c3d4e5f6\)$/);
  });
});

describe('message length', () => {
  test('an intake reply for the most links a message may hold fits in one Telegram message', () => {
    const long = (i: number) => `https://example.com/${'x'.repeat(110)}/${i}.mp4`;
    const text = intakeReplyText({
      queued: Array.from({ length: 50 }, (_, i) => long(i)),
      joined: Array.from({ length: 30 }, (_, i) => long(i)),
      alreadyDone: [],
      duplicates: [],
      rejected: Array.from({ length: 500 }, (_, i) => ({ input: long(i), reason: 'too_many' as const })),
      failed: [],
      correlationId: 'abc',
    });
    expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(text).toContain('Queued 50 downloads:');
    expect(text).toContain('… and 40 more');
    expect(text).toContain('… and 490 more');
  });

  test('fitMessage leaves short text alone and cuts long text to the limit', () => {
    expect(fitMessage('short')).toBe('short');
    const cut = fitMessage('y'.repeat(10_000));
    expect(cut.length).toBe(MAX_MESSAGE_LENGTH);
    expect(cut.endsWith('…')).toBe(true);
  });
});
