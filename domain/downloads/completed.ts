import fs from 'node:fs/promises';
import path from 'node:path';
import type { Db } from '../../lib/db';
import type { CompletedLookup } from './client';
import type { DownloadedFile } from './definitions';

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
  const row = await db.download.findUnique({ where: { contentKey } });
  if (row?.state !== 'completed' || !row.filePath) return null;
  if (!(await isFile(path.join(downloadDir, row.filePath)))) return null;
  return { title: row.title ?? row.filePath, filePath: row.filePath, sizeBytes: Number(row.sizeBytes ?? 0) };
}

/** The lookup the downloads client uses, over this database and download directory. */
export function completedLookup(db: Db, downloadDir: string): CompletedLookup {
  return (contentKey) => findCompletedOnDisk(db, downloadDir, contentKey);
}
