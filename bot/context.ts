import type { Context } from 'grammy';
import type { Limits } from '../domain/access/limits';
import type { Access } from '../domain/access/roles';
import type { AccessStore } from '../domain/access/store';
import type { DownloadsClient } from '../domain/downloads/client';
import type { Actor } from '../domain/downloads/definitions';
import type { Resolver } from '../domain/downloads/destinations';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { MonitoringService } from './features/monitor';
import type { CommandMenus } from './menus';
import type { ProgressWatcher } from './progress';
import type { Redis } from '../lib/redis';
import type { TelegramFileReader } from '../lib/telegram';

export type BotSettings = Pick<
  Config,
  | 'ADMIN_IDS'
  | 'MAX_URLS_PER_MESSAGE'
  | 'MAX_URL_LENGTH'
  | 'ALLOW_PRIVATE_URLS'
  | 'ALLOWED_PRIVATE_HOSTS'
  | 'MAX_VIDEO_QUALITY'
  | 'PREFERRED_FORMAT'
  | 'DOWNLOAD_DIR'
  | 'MAX_TXT_BYTES'
  | 'MAX_URLS_PER_FILE'
  | 'MAX_USER_ACTIVE'
  | 'RATE_LIMIT_LINKS'
  | 'RATE_LIMIT_WINDOW'
  | 'TRIAL_DAILY_DOWNLOADS'
  | 'TRIAL_MAX_FILE_SIZE'
  | 'MAX_FILE_SIZE'
>;

/** What the bot's features need; production and tests each build one. */
export interface BotDeps {
  settings: BotSettings;
  logger: Logger;
  /** The one door to downloads: the bot parses and replies, the client does the rest. */
  downloads: DownloadsClient;
  redis: Redis;
  /** Roles, bans and allowed chats. */
  access: AccessStore;
  /** Per-user counters: link rate, trial quota, quiet refusals. */
  limits: Limits;
  /** Reads files people send (.txt lists of links). */
  readTelegramFile: TelegramFileReader;
  /** Status messages edited as their downloads go. */
  progress: ProgressWatcher;
  /** Each person's command menu, by role. */
  menus: CommandMenus;
  /** Records of ended downloads, for /clear. */
  records: RecordsCleaner;
  /** Downloader health monitoring's settings and figures, for /monitor. */
  monitoring: MonitoringService;
  /** How host names are resolved for the private-address check (the system resolver in production). */
  resolveHost?: Resolver;
}

/** The one context type every middleware and feature sees. */
export type BotContext = Context & {
  deps: BotDeps;
  correlationId: string;
  log: Logger;
  /** Who the sender is to the bot, set before any feature runs. */
  access: Access;
};

/** Removes the records of ended downloads; answers how many of each state went. */
export type RecordsCleaner = () => Promise<Record<'completed' | 'failed' | 'cancelled', number>>;

/** Who gave a command, as replies and the download's history name them. */
export function actorOf(ctx: Pick<Context, 'from'>): Actor {
  const from = ctx.from;
  if (!from) return { id: 'telegram:unknown', name: 'someone' };
  const name = [from.first_name, from.last_name].filter(Boolean).join(' ') || String(from.id);
  return { id: `telegram:${from.id}`, name: from.username ? `${name} (@${from.username})` : name };
}
