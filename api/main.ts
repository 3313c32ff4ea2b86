import { DOWNLOADS_CLIENT_SETTINGS, DownloadsClient, downloadsSettings } from '../domain/downloads/client';
import { ConfigError, parsePartialConfig, readEnv } from '../lib/config';
import { createDb } from '../lib/db';
import { processLogger, runEntryPoint } from '../lib/entry-point';
import { createRedis } from '../lib/redis';
import { Client, Connection } from '@temporalio/client';
import { buildApiServer } from './server';

/** What the API reads: no bot token (it never talks to Telegram). */
const API_SETTINGS = [
  'DATABASE_URL',
  'REDIS_URL',
  'REDIS_KEY_PREFIX',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  ...DOWNLOADS_CLIENT_SETTINGS,
  'API_TOKEN',
  'API_HOST',
  'API_PORT',
  'LOG_LEVEL',
  'LOG_PRETTY',
  'LOG_FILE',
] as const;

async function main(): Promise<void> {
  let config;
  try {
    config = parsePartialConfig(readEnv(), API_SETTINGS);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\nSee .env.example for every variable and its default.\n`);
    process.exit(1);
  }
  const logger = await processLogger(config, 'api');
  if (!config.API_TOKEN) logger.warn('API_TOKEN is not set: every /api/* request is refused (401) until it is');
  const db = createDb(config.DATABASE_URL);
  const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX);
  redis.on('error', () => undefined);
  // Connected on first use: the API starts (and /readyz says what is missing) while Temporal is down.
  const temporal = new Client({ connection: Connection.lazy({ address: config.TEMPORAL_ADDRESS }), namespace: config.TEMPORAL_NAMESPACE });
  const downloads = new DownloadsClient(temporal, downloadsSettings(config));
  const app = await buildApiServer({ db, redis, downloads, temporal, token: config.API_TOKEN, logger });
  const address = await app.listen({ host: config.API_HOST, port: config.API_PORT });
  logger.info({ address, dashboard: `${address}/`, openapi: `${address}/openapi.json` }, 'API listening');

  const stop = async (signal: string) => {
    logger.info({ signal }, 'API stopping');
    await app.close();
    await downloads.settle();
    await temporal.connection.close();
    redis.disconnect();
    await db.$disconnect();
    logger.info('API stopped');
    process.exit(0);
  };
  process.once('SIGINT', (s) => void stop(s));
  process.once('SIGTERM', (s) => void stop(s));
}

runEntryPoint('api', main);
