/**
 * The life of one download, as the database, the workflow's search attribute and
 * the bot's replies name it. The Prisma enum `DownloadState` mirrors this list.
 */
export const DOWNLOAD_STATES = ['queued', 'waiting_for_disk', 'downloading', 'completed', 'failed'] as const;
export type DownloadState = (typeof DOWNLOAD_STATES)[number];

export const DOWNLOAD_MODES = ['video', 'audio'] as const;
export type DownloadMode = (typeof DOWNLOAD_MODES)[number];
