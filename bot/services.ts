import { Limits } from '../domain/access/limits';
import { AccessStore } from '../domain/access/store';
import type { DownloadsClient } from '../domain/downloads/client';
import { clearEndedRecords } from '../domain/downloads/completed';
import type { Db } from '../lib/db';
import type { Logger } from '../lib/logger';
import type { Redis } from '../lib/redis';
import type { BotDeps, BotSettings } from './context';
import { monitoringService } from './features/monitor';

/** What the bot is built from, before it is connected to Telegram (createBot adds the rest). */
export type BotServices = Omit<BotDeps, 'menus' | 'readTelegramFile' | 'progress'>;

/** The bot's services over one database, one Redis and one downloads client: the same in production and in tests. */
export function createBotServices(o: {
  settings: BotSettings;
  db: Db;
  redis: Redis;
  downloads: DownloadsClient;
  logger: Logger;
}): BotServices {
  return {
    settings: o.settings,
    logger: o.logger,
    downloads: o.downloads,
    redis: o.redis,
    access: new AccessStore(o.db, o.redis, o.settings.ADMIN_IDS, o.logger),
    limits: new Limits(o.redis, o.logger),
    records: () => clearEndedRecords(o.db),
    monitoring: monitoringService(o.db),
  };
}
