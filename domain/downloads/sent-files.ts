/**
 * Files sent back to Telegram. Once sent, Telegram keeps a file under a
 * file_id that the bot may send again any number of times: the next request
 * for the same content is answered with it, with no download and no upload.
 */

export const SENT_KINDS = ['video', 'audio', 'document'] as const;
export type SentKind = (typeof SENT_KINDS)[number];

export interface SentFile {
  fileId: string;
  /** The Bot API method that sent it (sendVideo, sendAudio, sendDocument) takes the file_id again. */
  kind: SentKind;
}

export function isSentKind(value: string | null | undefined): value is SentKind {
  return (SENT_KINDS as readonly string[]).includes(value ?? '');
}

const AUDIO = /\.(mp3|m4a|aac|ogg|oga|opus|flac|wav)$/i;

/**
 * How a file is sent: sound as audio, MP4 as a playable video; other
 * containers (mkv, webm) as documents, which Telegram does not play inline.
 */
export function sentKindOf(filePath: string): SentKind {
  if (AUDIO.test(filePath)) return 'audio';
  if (/\.mp4$/i.test(filePath)) return 'video';
  return 'document';
}
