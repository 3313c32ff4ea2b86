import type { Client } from '@temporalio/client';
import type { Context } from 'grammy';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import type { Resolver } from '../lib/destinations';
import type { Logger } from '../lib/logger';
import type { Redis } from '../lib/redis';

export type BotSettings = Pick<
  Config,
  'ADMIN_IDS' | 'TASK_QUEUE' | 'DOWNLOAD_TASK_QUEUE' | 'DOWNLOAD_DIR' | 'MAX_URLS_PER_MESSAGE' | 'MAX_URL_LENGTH'
  | 'MAX_RETRIES' | 'RETRY_BASE_SECONDS' | 'RETRY_MAX_SECONDS' | 'DISK_RECHECK_SECONDS' | 'DISK_WAIT_HOURS'
  | 'DOWNLOAD_TIMEOUT_MINUTES' | 'HEARTBEAT_TIMEOUT_SECONDS' | 'ALLOW_PRIVATE_URLS' | 'ALLOWED_PRIVATE_HOSTS'
>;

/** What the bot's features need; production and tests each build one. */
export interface BotDeps {
  settings: BotSettings;
  logger: Logger;
  temporal: Client;
  db: Db;
  redis: Redis;
  /** How host names are resolved for the private-address check (the system resolver in production). */
  resolveHost?: Resolver;
}

/** The one context type every middleware and feature sees. */
export type BotContext = Context & {
  deps: BotDeps;
  correlationId: string;
  log: Logger;
};
