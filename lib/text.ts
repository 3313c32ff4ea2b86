import { domainToUnicode } from 'node:url';

/**
 * Text we show people but did not write: titles from sites, links from users.
 * Cutting it must not break a character, and invisible control characters must
 * not be able to disguise what a link or a title says.
 */

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` cut to at most `max` UTF-16 units (what Telegram and JavaScript count),
 * ending in `ellipsis` when cut, and never inside a character or a grapheme
 * (a surrogate pair, a flag, an emoji with skin tone, a letter with its accents).
 */
export function truncate(text: string, max: number, ellipsis = '…'): string {
  if (text.length <= max) return text;
  const budget = max - ellipsis.length;
  let end = 0;
  // A boundary depends only on the characters around it, so the head of the text
  // (one code point past the budget) decides where to cut, however long the rest.
  for (const { segment, index } of segmenter.segment(text.slice(0, budget + 2))) {
    if (index + segment.length > budget) break;
    end = index + segment.length;
  }
  return `${text.slice(0, end)}${ellipsis}`;
}

// Explicit embeddings, overrides and isolates: they reorder the text that follows them.
const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/g;
// Every invisible formatting character (bidi marks, zero-width spaces and joiners, soft hyphens...).
const FORMAT_CHARACTERS = /\p{Cf}/gu;

const codePoint = (ch: string) => `<U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`;

/** A title with its bidi embedding and override controls shown as `<U+202E>` (marks such as RLM stay). */
export function escapeBidiControls(text: string): string {
  return text.replace(BIDI_CONTROLS, codePoint);
}

/** A link with every invisible formatting character shown as `<U+200B>`: a link has no business hiding any. */
export function escapeInvisible(text: string): string {
  return text.replace(FORMAT_CHARACTERS, codePoint);
}

const SCRIPTS: Array<[string, RegExp]> = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Georgian', /\p{Script=Georgian}/u],
  ['Hebrew', /\p{Script=Hebrew}/u],
  ['Arabic', /\p{Script=Arabic}/u],
  // Chinese, Japanese and Korean mix their scripts within one word as a matter of course.
  ['CJK', /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}]/u],
];

function scriptOf(ch: string): string | null {
  if (!/\p{L}/u.test(ch)) return null; // digits, hyphens and marks belong to every script
  return SCRIPTS.find(([, pattern]) => pattern.test(ch))?.[0] ?? 'Other';
}

/**
 * Whether a host name's letters come from more than one script: "pаypal.com" with
 * a Cyrillic "а", and also "аррӏе.com", an all-Cyrillic look-alike under a Latin
 * top-level domain. (An honest "例え.jp" is shown in punycode too: the safe side.)
 */
export function hasMixedScripts(host: string): boolean {
  return new Set([...domainToUnicode(host)].map(scriptOf).filter(Boolean)).size > 1;
}

/**
 * A link as we echo it: a host that mixes scripts in its punycode form (so a
 * look-alike cannot pass for the real site), invisible characters shown, and
 * cut to `max` characters.
 */
export function displayLink(link: string, max = 120): string {
  // Only the head can be shown; the host, which decides the form, is at its start.
  const head = link.slice(0, 8 * max + 1024);
  let shown = head;
  try {
    const url = new URL(/^www\./i.test(head) ? `https://${head}` : head);
    if (/[^\x20-\x7e]/.test(head) && hasMixedScripts(url.hostname)) shown = url.href;
  } catch {
    // Not a URL (a rejected input): shown as written, escaped.
  }
  return truncate(escapeInvisible(shown.length < link.length ? `${shown}…` : shown), max);
}
