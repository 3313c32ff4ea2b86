import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { TelegramNotifier } from '../lib/telegram';

/** Everything activities touch, passed in so tests can swap any part. */
export interface ActivityDeps {
  db: Db;
  telegram: TelegramNotifier;
  logger: Logger;
  downloadDir: string;
  minDiskSpaceGb: number;
  ytDlpPath: string;
  socketTimeoutSeconds: number;
  freeBytes: (dir: string) => Promise<number>;
  /** How often a running download reports progress to Temporal. */
  heartbeatEveryMs: number;
}
