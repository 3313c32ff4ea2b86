import type { Client } from '@temporalio/client';
import { DownloadsClient, downloadsSettings } from '../domain/downloads/client';
import { completedLookup } from '../domain/downloads/completed';
import type { Config } from '../lib/config';
import type { Db } from '../lib/db';
import { destinationPolicy, systemResolver, type DestinationPolicy, type Resolver } from '../domain/downloads/destinations';
import type { Logger } from '../lib/logger';
import type { TelegramNotifier } from '../lib/telegram';
import type { AttemptSink } from './attempt-journal';
import { freeBytesOnDisk } from './disk';
import type { AlertChannels } from './monitoring';
import type { YtDlpFeatures } from './ytdlp';

/** Everything activities touch, passed in so tests can swap any part. */
export interface ActivityDeps {
  db: Db;
  telegram: TelegramNotifier;
  logger: Logger;
  downloadDir: string;
  minDiskSpaceGb: number;
  ytDlpPath: string;
  /** What the installed yt-dlp supports, probed once when the worker starts. */
  ytDlpFeatures: YtDlpFeatures;
  socketTimeoutSeconds: number;
  maxFileSizeBytes: number;
  /** ALLOW_PRIVATE_URLS and ALLOWED_PRIVATE_HOSTS, checked again right before yt-dlp starts. */
  destinations: DestinationPolicy;
  resolveHost: Resolver;
  /** A proxy (HTTPS_PROXY and the like) resolves names for yt-dlp, so a name we cannot resolve is the proxy's to judge. */
  proxyResolvesHosts: boolean;
  freeBytes: (dir: string) => Promise<number>;
  /** A Temporal client, for the control workflow's visibility look-ups (absent in some tests). */
  temporal?: Client;
  /** The downloads client over `temporal`: playlists start and check their entries through it. */
  downloads?: DownloadsClient;
  /** How often a running download reports progress to Temporal. */
  heartbeatEveryMs: number;
  /** How yt-dlp chooses and fetches formats, worker-wide. */
  ytDlpSettings: YtDlpSettings;
  /** DIRECT_SOURCE: plain media files are fetched without yt-dlp. */
  directSource: boolean;
  /** MAX_PLAYLIST_VIDEOS: entries a playlist's listing keeps. */
  maxPlaylistEntries: number;
  /** Largest file sent back to Telegram; 0: none. */
  uploadLimitBytes: number;
  /** Where each download attempt is recorded for health monitoring (absent: not recorded). */
  attempts?: AttemptSink;
  /** Counts running download attempts (the worker's /metrics). */
  activeAttempts?: { attemptStarted(): () => void };
  /** Where monitoring alerts go (absent: alerts are only logged). */
  alertChannels?: AlertChannels;
}

export interface YtDlpSettings {
  skipHls: boolean;
  skipDash: boolean;
  /** COOKIES_FILE (absolute); each run gets a private copy. */
  cookiesFile?: string;
  useAria2c: boolean;
  aria2cConnections: number;
}

const PROXY_VARIABLES = ['https_proxy', 'HTTPS_PROXY', 'http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'];

/** The settings activities read. */
export type ActivitySettings = Pick<
  Config,
  | 'DOWNLOAD_DIR'
  | 'MIN_DISK_SPACE_GB'
  | 'YTDLP_PATH'
  | 'SOCKET_TIMEOUT'
  | 'MAX_FILE_SIZE'
  | 'ALLOW_PRIVATE_URLS'
  | 'ALLOWED_PRIVATE_HOSTS'
  | 'HEARTBEAT_TIMEOUT_SECONDS'
  | 'SKIP_HLS'
  | 'SKIP_DASH'
  | 'COOKIES_FILE'
  | 'USE_ARIA2C'
  | 'DIRECT_SOURCE'
  | 'ARIA2C_CONNECTIONS'
  | 'MAX_PLAYLIST_VIDEOS'
  | 'TELEGRAM_UPLOAD_LIMIT_MB'
> &
  Parameters<typeof downloadsSettings>[0];

/**
 * Activity dependencies from the configuration and the clients a process
 * opened: the one place the worker and the tests build them.
 */
export function activityDeps(
  settings: ActivitySettings,
  services: Pick<ActivityDeps, 'db' | 'telegram' | 'logger' | 'ytDlpFeatures'> &
    Partial<
      Pick<
        ActivityDeps,
        | 'temporal'
        | 'freeBytes'
        | 'resolveHost'
        | 'proxyResolvesHosts'
        | 'heartbeatEveryMs'
        | 'attempts'
        | 'alertChannels'
        | 'activeAttempts'
      >
    >,
): ActivityDeps {
  return {
    downloadDir: settings.DOWNLOAD_DIR,
    minDiskSpaceGb: settings.MIN_DISK_SPACE_GB,
    ytDlpPath: settings.YTDLP_PATH,
    socketTimeoutSeconds: settings.SOCKET_TIMEOUT,
    maxFileSizeBytes: settings.MAX_FILE_SIZE,
    destinations: destinationPolicy(settings),
    freeBytes: freeBytesOnDisk,
    resolveHost: systemResolver,
    proxyResolvesHosts: PROXY_VARIABLES.some((name) => Boolean(process.env[name])),
    // Three beats per heartbeat timeout, and at least every 3 s so progress reads live.
    heartbeatEveryMs: Math.min(3_000, (settings.HEARTBEAT_TIMEOUT_SECONDS * 1000) / 3),
    ytDlpSettings: {
      skipHls: settings.SKIP_HLS,
      skipDash: settings.SKIP_DASH,
      ...(settings.COOKIES_FILE ? { cookiesFile: settings.COOKIES_FILE } : {}),
      useAria2c: settings.USE_ARIA2C,
      aria2cConnections: settings.ARIA2C_CONNECTIONS,
    },
    maxPlaylistEntries: settings.MAX_PLAYLIST_VIDEOS,
    uploadLimitBytes: settings.TELEGRAM_UPLOAD_LIMIT_MB * 1024 * 1024,
    directSource: settings.DIRECT_SOURCE,
    ...(services.temporal
      ? {
          downloads: new DownloadsClient(
            services.temporal,
            downloadsSettings(settings),
            completedLookup(services.db, settings.DOWNLOAD_DIR),
          ),
        }
      : {}),
    ...services,
  };
}
