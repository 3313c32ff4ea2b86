import fs from 'node:fs/promises';
import { findExecutable } from '../lib/executables';
import type { Config } from '../lib/config';

/** Longest cookies file read (a browser export of every site is a few hundred KB). */
const MAX_COOKIES_BYTES = 4 * 1024 * 1024;
/** Cookie values shorter than this are not scrubbed from logs (they would blank out ordinary words). */
const MIN_SECRET_COOKIE_CHARS = 8;

/**
 * What the worker checks before it takes work, so a wrong setting is one clear
 * line at start instead of every download failing: COOKIES_FILE is a readable
 * cookies file, USE_ARIA2C has aria2c to run. Returns the cookie values, which
 * join the secrets scrubbed from every log line and failure.
 */
export async function preflight(config: Pick<Config, 'COOKIES_FILE' | 'USE_ARIA2C'>): Promise<{ cookieSecrets: string[] }> {
  if (config.USE_ARIA2C && !findExecutable('aria2c'))
    throw new Error('USE_ARIA2C=true but aria2c is not installed (Debian package aria2; npm run setup installs it when USE_ARIA2C=true)');
  if (!config.COOKIES_FILE) return { cookieSecrets: [] };
  const file = config.COOKIES_FILE;
  let text: string;
  try {
    const stats = await fs.stat(file);
    if (!stats.isFile()) throw new Error('it is not a file');
    if (stats.size > MAX_COOKIES_BYTES) throw new Error(`it is larger than ${MAX_COOKIES_BYTES} bytes`);
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : err instanceof Error ? err.message : String(err);
    throw new Error(`COOKIES_FILE (${file}) cannot be read: ${reason}`);
  }
  const values = cookieValues(text);
  if (values === null)
    throw new Error(`COOKIES_FILE (${file}) is not a Netscape cookies file (the format browsers' "cookies.txt" exports and yt-dlp read)`);
  return { cookieSecrets: values.filter((v) => v.length >= MIN_SECRET_COOKIE_CHARS) };
}

/** The values in a Netscape cookies file (seven tab-separated fields per line), or null when it is not one. */
export function cookieValues(text: string): string[] | null {
  const values: string[] = [];
  let cookies = 0;
  for (const raw of text.split(/\r?\n/)) {
    // "#HttpOnly_" marks a cookie line; other "#" lines are comments.
    const line = raw.startsWith('#HttpOnly_') ? raw.slice('#HttpOnly_'.length) : raw;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = line.split('\t');
    if (fields.length !== 7) return null;
    cookies += 1;
    if (fields[6]) values.push(fields[6]);
  }
  return cookies > 0 || /^# (Netscape )?HTTP Cookie File/m.test(text) ? values : null;
}
