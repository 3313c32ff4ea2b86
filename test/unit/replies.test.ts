import { intakeReplyText, internalErrorText, queueText, statusText, type IntakeReport } from '../../bot/replies';
import { REJECTION_REASONS } from '../../domain/downloads/links';
import { MAX_MESSAGE_LENGTH, shortUrl } from '../../domain/downloads/messages';

const emptyReport: IntakeReport = {
  queued: [],
  joined: [],
  alreadyDone: [],
  duplicates: [],
  rejected: [],
  failed: [],
  limited: [],
  limitNotes: [],
  correlationId: 'a1b2c3d4e5f6',
  paused: false,
};

describe('intakeReplyText', () => {
  test('lists every section with its links', () => {
    const text = intakeReplyText({
      queued: [
        { url: 'https://youtu.be/dQw4w9WgXcQ', shortId: 'aaaa0001' },
        { url: 'https://vimeo.com/76979871', shortId: 'aaaa0002' },
      ],
      joined: [{ url: 'https://x.com/NASA/status/1676695419548790784', shortId: 'aaaa0003' }],
      alreadyDone: [
        {
          url: 'https://www.youtube.com/watch?v=jNQXAC9IVRw',
          shortId: 'aaaa0004',
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
      limited: [],
      limitNotes: [],
      correlationId: 'a1b2c3d4e5f6',
      paused: false,
    });
    const lines = text.split('\n');

    expect(lines).toContain('Queued 2 downloads:');
    expect(lines).toContain('• [aaaa0001] https://youtu.be/dQw4w9WgXcQ');
    expect(lines).toContain('• [aaaa0002] https://vimeo.com/76979871');

    expect(lines).toContain('Already downloading (you will be told when it finishes):');
    expect(lines).toContain('• [aaaa0003] https://x.com/NASA/status/1676695419548790784');

    expect(lines).toContain('Already downloaded:');
    expect(lines).toContain('• [aaaa0004] Me at the zoo (45 KB) - Me_at_the_zoo-abcdef.mp4 [https://www.youtube.com/watch?v=jNQXAC9IVRw]');

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
    const text = intakeReplyText({ ...emptyReport, queued: [{ url: 'https://youtu.be/dQw4w9WgXcQ', shortId: '1a2b3c4d' }] });
    expect(text).toBe('Queued 1 download:\n• [1a2b3c4d] https://youtu.be/dQw4w9WgXcQ');
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
    const text = intakeReplyText({
      ...emptyReport,
      queued: [{ url: monster, shortId: '1a2b3c4d' }],
      rejected: [{ input: monster, reason: 'too_long' }],
    });
    expect(text).not.toContain(monster);
    expect(text).toContain(`• [1a2b3c4d] ${shortUrl(monster)}`);
    expect(text).toContain(`• ${shortUrl(monster, 60)} - ${REJECTION_REASONS.too_long}`);
  });

  test('says when what was queued waits because everything is paused', () => {
    const text = intakeReplyText({ ...emptyReport, paused: true, queued: [{ url: 'https://youtu.be/dQw4w9WgXcQ', shortId: '1a2b3c4d' }] });
    expect(text.split('\n')[0]).toBe('Queued 1 download (paused: everything is paused until /resume):');
  });

  test('an empty report gives an empty reply', () => {
    expect(intakeReplyText(emptyReport)).toBe('');
  });
});

describe('message length', () => {
  test('an intake reply for the most links a message may hold fits in one Telegram message', () => {
    const long = (i: number) => `https://example.com/${'x'.repeat(110)}/${i}.mp4`;
    const text = intakeReplyText({
      queued: Array.from({ length: 50 }, (_, i) => ({ url: long(i), shortId: 'abcdef12' })),
      joined: Array.from({ length: 30 }, (_, i) => ({ url: long(i), shortId: 'abcdef12' })),
      alreadyDone: [],
      duplicates: [],
      rejected: Array.from({ length: 500 }, (_, i) => ({ input: long(i), reason: 'too_many' as const })),
      failed: [],
      limited: [],
      limitNotes: [],
      correlationId: 'abc',
      paused: false,
    });
    expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(text).toContain('Queued 50 downloads:');
    expect(text).toContain('… and 40 more');
    expect(text).toContain('… and 490 more');
  });
});

test('internalErrorText gives the ref to quote', () => {
  expect(internalErrorText('a1b2c3d4e5f6')).toMatch(/\(ref: a1b2c3d4e5f6\)$/);
});

describe('/status', () => {
  const system = { cpuPercent: 12, ramPercent: 34, disk: { usedPercent: 56, freeBytes: 120 * 1024 ** 3 } };
  const counts = { queued: 5, waiting_for_disk: 1, downloading: 2, paused: 3 };

  test('the machine, the counts by state, the global pause and each running download', () => {
    const text = statusText({
      system,
      counts,
      globalPause: { pausedBy: 'Ann' },
      active: [
        {
          shortId: '1a2b3c4d',
          url: 'https://example.com/a.mp4',
          percent: 45.5,
          totalBytes: 120 * 1024 ** 2,
          speed: 2 * 1024 ** 2,
          etaSeconds: 55,
        },
        { shortId: '5e6f7a8b', url: 'https://example.com/b.mp4', percent: null, totalBytes: null, speed: null, etaSeconds: null },
      ],
    });
    expect(text).toContain('CPU 12% · RAM 34% · disk 56% used, 120 GB free');
    expect(text).toContain('Downloads: 2 downloading, 5 queued, 1 waiting for disk space, 3 paused');
    expect(text).toContain('Everything is paused (by Ann)');
    expect(text).toContain('• [1a2b3c4d] https://example.com/a.mp4 - 45.5%, of 120 MB, 2.0 MB/s, ETA 55 s');
    expect(text).toContain('• [5e6f7a8b] https://example.com/b.mp4 - starting');
  });

  test('a disk that cannot be read is said so; nothing running lists nothing', () => {
    const text = statusText({ system: { ...system, disk: null }, counts, globalPause: null, active: [] });
    expect(text).toContain('disk: cannot read DOWNLOAD_DIR');
    expect(text).not.toContain('Downloading now');
    expect(text).not.toContain('paused (by');
  });
});

describe('/queue', () => {
  test('each row: short ID, link, state in words, and for a running one its percent and ETA', () => {
    const text = queueText(
      [
        { shortId: '1a2b3c4d', url: 'https://example.com/a.mp4', state: 'downloading', percent: 12.5, etaSeconds: 300 },
        { shortId: '5e6f7a8b', url: 'https://example.com/b.mp4', state: 'waiting_for_disk', percent: null, etaSeconds: null },
      ],
      { scope: 'mine', page: 1 },
    );
    expect(text).toBe(
      '📋 Your downloads not yet ended, newest first:\n• [1a2b3c4d] https://example.com/a.mp4 - downloading, 12.5%, ETA 5 min\n• [5e6f7a8b] https://example.com/b.mp4 - waiting for disk space',
    );
  });

  test('empty, and past the last page', () => {
    expect(queueText([], { scope: 'all', page: 1 })).toBe("Everyone's downloads: nothing queued, running or paused.");
    expect(queueText([], { scope: 'mine', page: 3 })).toBe('Your downloads: no more.');
  });
});
