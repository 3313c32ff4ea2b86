import fc from 'fast-check';
import { intakeReplyText } from '../../bot/replies';
import { completedText, fitMessage, MAX_MESSAGE_LENGTH } from '../../domain/downloads/messages';
import { displayLink, escapeBidiControls, escapeInvisible, hasMixedScripts, truncate } from '../../lib/text';
import { expectLinearTime, megabyteOf } from '../support/linear-time';

const graphemes = (text: string) => [...new Intl.Segmenter(undefined, { granularity: 'grapheme' }).segment(text)].map((s) => s.segment);
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

describe('truncate', () => {
  test.each([
    ['emoji (surrogate pairs)', '🎵'.repeat(100)],
    ['flags (two regional indicators each)', '🇩🇪🇫🇷🇯🇵'.repeat(40)],
    ['emoji with skin tones', '👍🏽'.repeat(50)],
    ['a family joined by zero-width joiners', '👨‍👩‍👧‍👦'.repeat(30)],
    ['letters with combining accents', 'e\u0301'.repeat(100)],
    ['Hangul syllables built from jamo', '\u1100\u1161\u11a8'.repeat(80)],
  ])('never cuts inside a character or grapheme: %s', (_what, text) => {
    for (let max = 2; max < 60; max++) {
      const cut = truncate(text, max);
      expect(cut.length).toBeLessThanOrEqual(max);
      expect(cut).not.toMatch(LONE_SURROGATE);
      const kept = cut.slice(0, -1);
      expect(cut.endsWith('…')).toBe(true);
      expect(graphemes(text).slice(0, graphemes(kept).length).join('')).toBe(kept);
    }
  });

  test('leaves text that fits alone', () => {
    expect(truncate('short', 5)).toBe('short');
    expect(truncate('🎵🎵', 4)).toBe('🎵🎵');
  });

  test('property: the cut is at most max units, a whole-grapheme prefix, never a lone surrogate', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.integer({ min: 1, max: 60 }), (text, max) => {
        const cut = truncate(text, max);
        expect(cut.length).toBeLessThanOrEqual(Math.max(max, 1));
        expect(cut).not.toMatch(LONE_SURROGATE);
        if (cut === text) return;
        const kept = cut.slice(0, -1);
        expect(graphemes(text).slice(0, graphemes(kept).length).join('')).toBe(kept);
      }),
      { numRuns: 1000 },
    );
  });

  test('is linear on a megabyte of text', () => {
    expectLinearTime('truncate', () => truncate(megabyteOf('e\u0301'), 4096));
  });
});

describe('fitMessage and the replies built on it', () => {
  test('a reply cut for Telegram never splits a surrogate pair', () => {
    for (const pad of [0, 1, 2, 3]) {
      const text = `${'x'.repeat(pad)}${'🎵'.repeat(MAX_MESSAGE_LENGTH)}`;
      const cut = fitMessage(text);
      expect(cut.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
      expect(cut).not.toMatch(LONE_SURROGATE);
    }
  });

  test('a completion message with a huge emoji title fits one message, whole characters only', () => {
    const text = completedText('https://example.com/v', { title: '👨‍👩‍👧‍👦'.repeat(2_000), filePath: 'v.mp4', sizeBytes: 1 });
    expect(text.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH);
    expect(text).not.toMatch(LONE_SURROGATE);
    expect(text).toContain('Saved as: v.mp4');
  });
});

describe('escaping what a link or title could hide', () => {
  test('bidi overrides and isolates in a title are shown, ordinary right-to-left text is kept', () => {
    expect(escapeBidiControls('evil\u202Egnp.exe')).toBe('evil<U+202E>gnp.exe');
    expect(escapeBidiControls('a\u2066b\u2069c')).toBe('a<U+2066>b<U+2069>c');
    expect(escapeBidiControls('שלום עולם')).toBe('שלום עולם');
  });

  test('every invisible formatting character in a link is shown', () => {
    expect(escapeInvisible('https://example.com/\u202Emp4.exe')).toBe('https://example.com/<U+202E>mp4.exe');
    expect(escapeInvisible('https://exa\u200Bmple.com/')).toBe('https://exa<U+200B>mple.com/');
    expect(escapeInvisible('https://example.com/a\u00ADb\u2060c\uFEFF')).toBe('https://example.com/a<U+00AD>b<U+2060>c<U+FEFF>');
  });

  test.each([
    ['a Cyrillic "а" in a Latin name', 'pаypal.com', true],
    ['a Greek "ο" in a Latin name', 'gοogle.com', true],
    ['an all-Latin name with accents', 'münchen.de', false],
    ['an all-Cyrillic name under a Cyrillic TLD', 'пример.рф', false],
    ['an all-Cyrillic look-alike under a Latin TLD', 'аррӏе.com', true],
    ['Japanese mixing kanji and kana', '例え.テスト', false],
    ['a Japanese name under a Latin TLD (shown in punycode: the safe side)', '例え.jp', true],
    ['Latin and Cyrillic in different labels', 'пример.example.com', true],
    ['plain ASCII', 'example.com', false],
    ['an already-punycode mixed name', 'xn--pypal-4ve.com', true],
  ])('hasMixedScripts: %s', (_what, host, mixed) => {
    expect(hasMixedScripts(host)).toBe(mixed);
  });

  test('a look-alike host is echoed in punycode; an honest international one as written', () => {
    expect(displayLink('https://pаypal.com/login')).toBe('https://xn--pypal-4ve.com/login');
    expect(displayLink('https://münchen.de/video')).toBe('https://münchen.de/video');
    expect(displayLink('https://аррӏе.com/')).toBe('https://xn--80ak6aa92e.com/');
    expect(displayLink('https://example.com/\u202Evid.mp4')).toBe('https://example.com/<U+202E>vid.mp4');
  });

  test('what an intake reply echoes is escaped', () => {
    const text = intakeReplyText({
      queued: [{ url: 'https://example.com/\u202Eevil', shortId: '1a2b3c4d' }],
      joined: [],
      alreadyDone: [],
      duplicates: [],
      rejected: [{ input: 'ftp://pаypal.com/\u2066x', reason: 'unsupported_scheme' }],
      failed: [],
      limited: [],
      limitNotes: [],
      correlationId: 'abc',
      paused: false,
    });
    expect(text).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
    expect(text).toContain('https://example.com/<U+202E>evil');
    expect(text).toContain('ftp://xn--pypal-4ve.com/');
  });

  test('displayLink is linear on a megabyte link', () => {
    expectLinearTime('displayLink', () => displayLink(`https://pаypal.com/${megabyteOf('\u202Ea')}`));
    expectLinearTime('displayLink', () => displayLink(megabyteOf('\u200B')));
  });
});
