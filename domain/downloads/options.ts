import type { DownloadMode } from './definitions';

/**
 * What someone may ask for beyond the link: a height cap and a container for
 * video, a format for audio. The options a download was asked with are part of
 * its content key (the 720p and the best version are two downloads), so they are
 * settled once, at intake, from the request and the configured defaults.
 * Pure: the workflow, the worker and the bot all import it.
 */

export const VIDEO_QUALITIES = [2160, 1440, 1080, 720, 480, 360] as const;
export type VideoQuality = (typeof VIDEO_QUALITIES)[number];

/** Containers a video is merged (or remuxed) into with ffmpeg. */
export const VIDEO_CONTAINERS = ['mp4', 'mkv', 'webm'] as const;
export type VideoContainer = (typeof VIDEO_CONTAINERS)[number];

/** Audio formats `/audio` offers; mp3 is the default (the first audio downloads were mp3). */
export const AUDIO_FORMATS = ['mp3', 'm4a'] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];
export const DEFAULT_AUDIO_FORMAT: AudioFormat = 'mp3';

/** The options of one download, settled: absent fields mean "the best there is" and "as the site serves it". */
export interface DownloadOptions {
  /** Video: the tallest picture to take, in lines. */
  maxHeight?: VideoQuality;
  /** Video: the container to merge into. */
  container?: VideoContainer;
  /** Audio: the format to extract to (mp3 when absent). */
  audioFormat?: AudioFormat;
  /** The largest file this request may produce, below MAX_FILE_SIZE (a trial user's cap). */
  maxBytes?: number;
}

/** The configured defaults (MAX_VIDEO_QUALITY, PREFERRED_FORMAT). */
export interface OptionDefaults {
  maxHeight?: VideoQuality;
  container?: VideoContainer;
}

/** What one request asked for; `best` lifts the configured height cap. */
export interface AskedOptions {
  maxHeight?: VideoQuality | 'best';
  container?: VideoContainer;
  audioFormat?: AudioFormat;
}

/** The options a request gets: what it asked for, else the defaults; only the fields its mode uses. */
export function settleOptions(mode: DownloadMode, asked: AskedOptions, defaults: OptionDefaults): DownloadOptions {
  if (mode === 'audio') {
    const audioFormat = asked.audioFormat ?? DEFAULT_AUDIO_FORMAT;
    return audioFormat === DEFAULT_AUDIO_FORMAT ? {} : { audioFormat };
  }
  const height = asked.maxHeight ?? defaults.maxHeight;
  const container = asked.container ?? defaults.container;
  return { ...(height && height !== 'best' ? { maxHeight: height } : {}), ...(container ? { container } : {}) };
}

/**
 * The options' part of a content key: empty for the defaults (so keys made
 * before options existed stay valid), else a fixed-order suffix such as
 * "|h720|mkv".
 */
export function optionsKeyPart(options: DownloadOptions | undefined): string {
  if (!options) return '';
  const parts = [
    options.maxHeight ? `h${options.maxHeight}` : null,
    options.container ?? null,
    options.audioFormat && options.audioFormat !== DEFAULT_AUDIO_FORMAT ? options.audioFormat : null,
    options.maxBytes ? `max${options.maxBytes}` : null,
  ].filter((p): p is string => p !== null);
  return parts.map((p) => `|${p}`).join('');
}

/** "200 MB", "20 KB": a size cap in words. */
function sizeWords(bytes: number): string {
  return bytes >= 1024 ** 2 ? `${Math.round(bytes / 1024 ** 2)} MB` : `${Math.round(bytes / 1024)} KB`;
}

/** "720p, mkv" for replies; empty for the defaults. */
export function describeOptions(options: DownloadOptions | undefined): string {
  if (!options) return '';
  return [
    options.maxHeight ? `${options.maxHeight}p` : null,
    options.container ?? null,
    options.audioFormat ?? null,
    options.maxBytes ? `at most ${sizeWords(options.maxBytes)}` : null,
  ]
    .filter((p): p is string => p !== null)
    .join(', ');
}

export type ParsedOptionWords = { ok: true; asked: AskedOptions } | { ok: false; message: string };

const OPTION_HELP = `options: ${VIDEO_QUALITIES.map((q) => `${q}p`).join(' ')} best, ${VIDEO_CONTAINERS.join(' ')}`;
const AUDIO_OPTION_HELP = `options: ${AUDIO_FORMATS.join(' ')}`;

/**
 * Reads the words of `/dl <link> 720p mkv` or `/audio <link> m4a` that are not
 * links. Every word must be an option of the command's mode, each given once:
 * a typo is named instead of being ignored.
 */
export function parseOptionWords(mode: DownloadMode, words: string[]): ParsedOptionWords {
  const asked: AskedOptions = {};
  const help = mode === 'audio' ? AUDIO_OPTION_HELP : OPTION_HELP;
  for (const raw of words) {
    const word = raw.toLowerCase();
    const shown = raw.length > 20 ? `${raw.slice(0, 20)}…` : raw;
    const twice = () => ({ ok: false as const, message: `"${shown}" repeats an option already given (${help})` });
    if (mode === 'audio') {
      if (!(AUDIO_FORMATS as readonly string[]).includes(word)) return { ok: false, message: `"${shown}" is not an audio option (${help})` };
      if (asked.audioFormat) return twice();
      asked.audioFormat = word as AudioFormat;
      continue;
    }
    const height = /^(\d{3,4})p?$/.exec(word);
    if (height || word === 'best') {
      const value = word === 'best' ? 'best' : Number(height![1]);
      if (value !== 'best' && !(VIDEO_QUALITIES as readonly number[]).includes(value))
        return { ok: false, message: `"${shown}" is not a quality this server offers (${help})` };
      if (asked.maxHeight) return twice();
      asked.maxHeight = value as VideoQuality | 'best';
      continue;
    }
    if ((VIDEO_CONTAINERS as readonly string[]).includes(word)) {
      if (asked.container) return twice();
      asked.container = word as VideoContainer;
      continue;
    }
    return { ok: false, message: `"${shown}" is not an option (${help})` };
  }
  return { ok: true, asked };
}
