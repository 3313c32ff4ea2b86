import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../lib/db';
import type { CompletedLookup } from './client';
import type { DownloadedFile } from './definitions';
import { isSentKind, type SentFile } from './sent-files';

async function isFile(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * A finished download whose file is still on disk, or null. The bot answers from
 * it at once; the workflow's dedup step uses it so nothing is downloaded twice.
 */
export async function findCompletedOnDisk(db: Db, downloadDir: string, contentKey: string): Promise<DownloadedFile | null> {
  return (await findCompletedWithSent(db, downloadDir, contentKey))?.file ?? null;
}

/** A finished download still on disk, and the file as Telegram keeps it when it was sent back. */
async function findCompletedWithSent(
  db: Db,
  downloadDir: string,
  contentKey: string,
): Promise<{ file: DownloadedFile; sent: SentFile | null } | null> {
  const row = await db.download.findUnique({ where: { contentKey } });
  if (row?.state !== 'completed' || !row.filePath) return null;
  if (!(await isFile(path.join(downloadDir, row.filePath)))) return null;
  const kind = row.telegramFileKind;
  const sent = row.telegramFileId && isSentKind(kind) ? { fileId: row.telegramFileId, kind } : null;
  return { file: { title: row.title ?? row.filePath, filePath: row.filePath, sizeBytes: Number(row.sizeBytes ?? 0) }, sent };
}

/** The lookup the downloads client uses, over this database and download directory. */
export function completedLookup(db: Db, downloadDir: string): CompletedLookup {
  return async (contentKey) => {
    const found = await findCompletedWithSent(db, downloadDir, contentKey);
    return found && { ...found.file, ...(found.sent ? { sent: found.sent } : {}) };
  };
}

/** Remembers how Telegram keeps a file sent back, so the next request for it needs no upload. */
export async function rememberSentFile(db: Db, contentKey: string, sent: SentFile): Promise<void> {
  await db.download.updateMany({ where: { contentKey }, data: { telegramFileId: sent.fileId, telegramFileKind: sent.kind } });
}

/** Forgets a file_id Telegram no longer accepts. */
export async function forgetSentFile(db: Db, contentKey: string): Promise<void> {
  await db.download.updateMany({ where: { contentKey }, data: { telegramFileId: null, telegramFileKind: null } });
}

/**
 * Removes the records of ended downloads (completed, failed, cancelled) and the
 * requests that point at them. Never files, and never running work: a record in
 * any other state stays. A download run later opens its record afresh.
 */
export async function clearEndedRecords(db: Db): Promise<Record<'completed' | 'failed' | 'cancelled', number>> {
  const states = ['completed', 'failed', 'cancelled'] as const;
  const counts = await db.$transaction(states.map((state) => db.download.deleteMany({ where: { state } })));
  return { completed: counts[0]!.count, failed: counts[1]!.count, cancelled: counts[2]!.count };
}
