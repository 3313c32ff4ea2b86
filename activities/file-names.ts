import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * The names of finished files, decided by us whatever yt-dlp's version: people
 * open what lands in DOWNLOAD_DIR, and a site chooses the title and, through
 * old yt-dlp versions (before the fix for CVE-2024-38519), even the extension.
 */

const VIDEO = ['mp4', 'm4v', 'mkv', 'webm', 'mov', 'avi', 'flv', 'ts', 'm2ts', 'mts', '3gp', '3g2', 'ogv', 'wmv', 'mpg', 'mpeg'];
const AUDIO = ['mp3', 'm4a', 'm4b', 'aac', 'opus', 'ogg', 'oga', 'flac', 'wav', 'weba', 'mka', 'wma', 'aiff', 'ac3', 'eac3'];
const SUBTITLES = ['srt', 'vtt', 'ass', 'ssa', 'lrc', 'ttml', 'dfxp', 'sbv', 'srv1', 'srv2', 'srv3'];

export const SUBTITLE_EXTENSIONS: ReadonlySet<string> = new Set(SUBTITLES);
/** Extensions a finished file may have; anything else is refused and removed. */
export const ALLOWED_EXTENSIONS: ReadonlySet<string> = new Set([...VIDEO, ...AUDIO, ...SUBTITLES]);

/** Longest file name most file systems take, in bytes. */
export const MAX_NAME_BYTES = 255;

/** Whether `file` lies inside `dir` (a name that merely begins with ".." does). */
export function isInside(dir: string, file: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

/** The longest prefix of `text` that fits `maxBytes` of UTF-8, cut between code points. */
function fitBytes(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    bytes += Buffer.byteLength(ch);
    if (bytes > maxBytes) break;
    end += ch.length;
  }
  return text.slice(0, end);
}

/**
 * A safe name for a file yt-dlp called `name` with extension `extension`: no
 * leading "-" (read as an option by tools) or "." (hidden), at most 255 bytes,
 * keeping the end of the stem, which carries the content-key suffix.
 */
export function safeFileName(stem: string, extension: string, keepTail = 13): string {
  const cleaned = stem.replace(/^[\s.-]+/, '') || 'download';
  const ext = `.${extension}`;
  const room = MAX_NAME_BYTES - Buffer.byteLength(ext);
  if (Buffer.byteLength(cleaned) <= room) return `${cleaned}${ext}`;
  const tail = cleaned.slice(-keepTail);
  return `${fitBytes(cleaned.slice(0, -keepTail), room - Buffer.byteLength(tail))}${tail}${ext}`;
}

/** The media type a file's first bytes show, as an extension, or null. */
export function sniffMediaExtension(head: Buffer): string | null {
  const ascii = (from: number, to: number) => head.subarray(from, to).toString('latin1');
  if (ascii(4, 8) === 'ftyp') return ascii(8, 12) === 'M4A ' ? 'm4a' : 'mp4';
  if (head.readUInt32BE(0) === 0x1a45dfa3) return head.includes('webm') ? 'webm' : 'mkv';
  if (ascii(0, 4) === 'OggS') return 'ogg';
  if (ascii(0, 4) === 'fLaC') return 'flac';
  if (ascii(0, 3) === 'FLV') return 'flv';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WAVE') return 'wav';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'AVI ') return 'avi';
  if (ascii(0, 3) === 'ID3' || (head[0] === 0xff && (head[1]! & 0xe0) === 0xe0)) return 'mp3';
  if (head[0] === 0x47 && head.length > 188 && head[188] === 0x47) return 'ts';
  return null;
}

export type FinalFile = { ok: true; relativePath: string } | { ok: false; reason: 'outside' | 'extension'; detail: string };

/**
 * Checks and, where needed, renames the file yt-dlp reported: it must lie in
 * `downloadDir`, carry an allowed media or subtitle extension, and get a safe
 * name. A file with any other extension ("unknown_video", ".bin", ".sh") is
 * named after its content when its first bytes show a media container, and
 * refused and removed otherwise: what matters is that nothing lands with an
 * extension a desktop would run.
 */
export async function finalizeFile(downloadDir: string, reported: string): Promise<FinalFile> {
  const absolute = path.resolve(downloadDir, reported);
  if (!isInside(downloadDir, absolute))
    return { ok: false, reason: 'outside', detail: `yt-dlp wrote outside the download directory: ${absolute}` };
  const dotted = path.extname(absolute);
  let extension = dotted.slice(1).toLowerCase();
  if (!ALLOWED_EXTENSIONS.has(extension)) {
    const handle = await fs.open(absolute, 'r');
    const head = Buffer.alloc(256);
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
    extension = sniffMediaExtension(head) ?? extension;
  }
  if (!ALLOWED_EXTENSIONS.has(extension)) {
    await fs.rm(absolute, { force: true });
    return {
      ok: false,
      reason: 'extension',
      detail: `refused a file with the extension "${extension || '(none)'}": ${path.basename(absolute)}`,
    };
  }
  const name = safeFileName(path.basename(absolute, dotted), extension);
  const target = path.join(path.dirname(absolute), name);
  if (target !== absolute) await fs.rename(absolute, target);
  return { ok: true, relativePath: path.relative(downloadDir, target) };
}

/**
 * Removes what an attempt for this content (named `*-<suffix>.*`) left that we
 * did not verify: final files written since `since` (a run that ended without
 * telling us its file, or over the size limit) in DOWNLOAD_DIR and in the
 * download's `folder`, and with `partials` its partial files too. Older final files, of an earlier completed download, stay.
 */
export async function removeUnverifiedFiles(
  downloadDir: string,
  suffix: string,
  since: Date,
  options: { partials: boolean; folder?: string },
): Promise<string[]> {
  const removed: string[] = [];
  const ours = (name: string) => name.includes(`-${suffix}.`);
  const sweep = async (dir: string, recentOnly: boolean) => {
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const name of names.filter(ours)) {
      const file = path.join(dir, name);
      const stats = await fs.stat(file).catch(() => null);
      if (!stats?.isFile() || (recentOnly && stats.mtimeMs < since.getTime() - 1_000)) continue;
      await fs.rm(file, { force: true });
      removed.push(path.relative(downloadDir, file));
    }
  };
  await sweep(downloadDir, true);
  if (options.folder) {
    const folder = path.resolve(downloadDir, options.folder);
    if (isInside(downloadDir, folder)) await sweep(folder, true);
  }
  if (options.partials) await sweep(path.join(downloadDir, '.incomplete'), false);
  return removed;
}
