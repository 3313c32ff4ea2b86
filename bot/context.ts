import type { Context } from 'grammy';
import type { DownloadsClient } from '../domain/downloads/client';
import type { Actor } from '../domain/downloads/definitions';
import type { Resolver } from '../domain/downloads/destinations';
import type { Config } from '../lib/config';
import type { Logger } from '../lib/logger';
import type { Redis } from '../lib/redis';

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
>;

/** What the bot's features need; production and tests each build one. */
export interface BotDeps {
  settings: BotSettings;
  logger: Logger;
  /** The one door to downloads: the bot parses and replies, the client does the rest. */
  downloads: DownloadsClient;
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

/** Who gave a command, as replies and the download's history name them. */
export function actorOf(ctx: Pick<Context, 'from'>): Actor {
  const from = ctx.from;
  if (!from) return { id: 'telegram:unknown', name: 'someone' };
  const name = [from.first_name, from.last_name].filter(Boolean).join(' ') || String(from.id);
  return { id: `telegram:${from.id}`, name: from.username ? `${name} (@${from.username})` : name };
}
