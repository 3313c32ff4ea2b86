import fs from 'node:fs/promises';
import path from 'node:path';
import type { DestinationStream } from 'pino';

/** A log file pino-roll writes and rotates (the part of its options we use; it ships no types). */
interface RollingFile extends DestinationStream {
  end(): void;
  flushSync(): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const pinoRoll = require('pino-roll') as (options: {
  file: string;
  size: string;
  limit: { count: number };
  mkdir: boolean;
  symlink: boolean;
  sync: boolean;
}) => Promise<RollingFile>;

/**
 * LOG_FILE: the process's log lines also go to this file, rotated by size
 * (10 MB, five files kept, as in seed 000) by pino-roll, pino's own rotating
 * file stream. Files are numbered (`worker.1.log`, `worker.2.log`, ...); `current.log`
 * next to them links to the one being written.
 */
export async function openLogFile(file: string, o: { size?: string; files?: number } = {}): Promise<RollingFile> {
  // Made here: pino-roll links current.log before it creates the folder.
  await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
  return pinoRoll({
    file: path.resolve(file),
    size: o.size ?? '10m',
    // pino-roll counts the files kept besides the one being written.
    limit: { count: (o.files ?? 5) - 1 },
    mkdir: true,
    symlink: true,
    // Written as they come, like the console: a crash loses no line.
    sync: true,
  });
}
