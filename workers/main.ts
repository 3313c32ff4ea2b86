import { createActivities } from '../activities';
import { activityDeps } from '../activities/deps';
import { NO_EXTRA_FEATURES } from '../activities/ytdlp';
import { probeYtDlp, versionWarnings } from '../activities/ytdlp-install';
import { loadConfigOrExit, secretsOf } from '../lib/config';
import { createDb } from '../lib/db';
import { runEntryPoint } from '../lib/entry-point';
import { connectTemporal } from '../lib/temporal-client';
import { createLogger } from '../lib/logger';
import { createTelegramApi, telegramNotifier } from '../lib/telegram';
import { createWorkers } from './create-workers';
import { preflight } from './preflight';
import { installTemporalLogging } from './runtime-logging';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  // COOKIES_FILE and USE_ARIA2C are checked before anything starts; cookie values are secrets from here on.
  const { cookieSecrets } = await preflight(config);
  const secrets = [...secretsOf(config), ...cookieSecrets];
  const logger = createLogger({ level: config.LOG_LEVEL, pretty: config.LOG_PRETTY, secrets, name: 'worker' });
  installTemporalLogging(logger);

  // Read once: which yt-dlp this worker runs, and which newer options it may pass.
  const ytDlp = await probeYtDlp(config.YTDLP_PATH);
  if (ytDlp) {
    logger.info({ ytDlp: ytDlp.executable, version: ytDlp.version, features: ytDlp.features }, 'yt-dlp found');
    for (const warning of versionWarnings(ytDlp.version, new Date()))
      logger.warn({ ytDlp: ytDlp.executable, version: ytDlp.version }, warning);
  } else {
    // Downloads fail (retryably, naming YTDLP_PATH) until it is installed; other work goes on.
    logger.error({ YTDLP_PATH: config.YTDLP_PATH }, 'yt-dlp cannot be run; check YTDLP_PATH');
  }

  const db = createDb(config.DATABASE_URL);
  // For the control workflow's visibility look-ups; workers run their workflows over their own connection.
  const temporal = await connectTemporal({ address: config.TEMPORAL_ADDRESS, namespace: config.TEMPORAL_NAMESPACE, logger });
  const deps = activityDeps(config, {
    db,
    temporal,
    telegram: telegramNotifier(createTelegramApi(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_ROOT)),
    logger,
    ytDlpFeatures: ytDlp?.features ?? NO_EXTRA_FEATURES,
  });
  const workers = await createWorkers(config, createActivities(deps), { secrets });
  // The SDK already shuts workers down gracefully on SIGINT/SIGTERM.
  logger.info(
    {
      taskQueue: config.TASK_QUEUE,
      downloadTaskQueue: config.DOWNLOAD_TASK_QUEUE,
      maxConcurrent: config.MAX_CONCURRENT,
      downloadDir: config.DOWNLOAD_DIR,
      allowPrivateUrls: config.ALLOW_PRIVATE_URLS,
    },
    'worker started',
  );
  try {
    await workers.run();
  } finally {
    await temporal.connection.close();
    await db.$disconnect();
    logger.info('worker stopped');
  }
}

runEntryPoint('worker', main);
