import fs from 'node:fs';
import path from 'node:path';
import { createActivities } from '../activities';
import { activityDeps } from '../activities/deps';
import { NO_EXTRA_FEATURES } from '../activities/ytdlp';
import { probeYtDlp, versionWarnings } from '../activities/ytdlp-install';
import { loadConfigOrExit, secretsOf } from '../lib/config';
import { createDb } from '../lib/db';
import { processLogger, runEntryPoint } from '../lib/entry-point';
import { connectTemporal } from '../lib/temporal-client';
import { createTelegramApi, noTelegram, telegramNotifier } from '../lib/telegram';
import { AttemptJournal } from '../activities/attempt-journal';
import { alertChannelsOf, attemptStore, handOverAlerts } from '../activities/monitoring';
import { serveMetrics } from '../lib/metrics-server';
import { fetchText, freePort } from '../lib/net';
import { createWorkers } from './create-workers';
import { createWorkerMetrics } from './metrics';
import { ensureSchedules } from './schedules';
import { preflight } from './preflight';
import { installTemporalLogging } from './runtime-logging';

async function main(): Promise<void> {
  // No bot token: the worker still downloads (for `npm run ops -- download`), and tells nobody on Telegram.
  const config = loadConfigOrExit(undefined, { bot: false });
  // COOKIES_FILE and USE_ARIA2C are checked before anything starts; cookie values are secrets from here on.
  const { cookieSecrets } = await preflight(config);
  const secrets = [...secretsOf(config), ...cookieSecrets];
  const logger = await processLogger(config, 'worker', cookieSecrets);
  // The SDK's own metrics (workflow and activity task latencies, pollers, slots) on a
  // loopback port of their own; the worker's /metrics serves them beside ours.
  const sdkMetrics = config.WORKER_METRICS_PORT > 0 ? `127.0.0.1:${await freePort()}` : undefined;
  installTemporalLogging(logger, { prometheusBindAddress: sdkMetrics });

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
  const telegramApi = config.TELEGRAM_BOT_TOKEN ? createTelegramApi(config.TELEGRAM_BOT_TOKEN, config.TELEGRAM_API_ROOT) : null;
  if (!telegramApi) logger.warn('TELEGRAM_BOT_TOKEN is not set: nobody is told on Telegram (downloads from npm run ops work)');
  const alertChannels = alertChannelsOf(config, telegramApi);
  const metrics = createWorkerMetrics();
  const monitoring = { db, logger: logger.child({ component: 'monitoring' }), temporal, taskQueue: config.TASK_QUEUE, alertChannels };
  const journal = new AttemptJournal({
    dir: config.MONITOR_JOURNAL_DIR,
    logger: logger.child({ component: 'attempts' }),
    observe: (attempt) => metrics.observe(attempt),
    ...attemptStore(monitoring),
  });
  await journal.start();
  const deps = activityDeps(config, {
    db,
    temporal,
    telegram: telegramApi ? telegramNotifier(telegramApi) : noTelegram(),
    logger,
    ytDlpFeatures: ytDlp?.features ?? NO_EXTRA_FEATURES,
    attempts: journal,
    alertChannels,
    activeAttempts: metrics,
  });
  // A bundle built ahead (npm run bundle; the Docker image does) saves webpack's work at every start.
  const workflowBundle = config.WORKFLOW_BUNDLE ? { codePath: path.resolve(config.WORKFLOW_BUNDLE) } : undefined;
  if (workflowBundle && !fs.existsSync(workflowBundle.codePath))
    throw new Error(`WORKFLOW_BUNDLE names ${workflowBundle.codePath}, which does not exist (build it with npm run bundle)`);
  const workers = await createWorkers(config, createActivities(deps), { secrets, workflowBundle });
  // Neither stops the worker: downloads matter more than housekeeping and alerts left over.
  await ensureSchedules(temporal, config.TASK_QUEUE, logger).catch((err: unknown) =>
    logger.warn({ err }, 'housekeeping schedules could not be checked; the next worker start tries again'),
  );
  await handOverAlerts(monitoring).catch((err: unknown) => logger.warn({ err }, 'alerts left from before could not be handed over yet'));
  // A port already taken (a second worker on this machine) costs the metrics, not the worker.
  const metricsServer =
    config.WORKER_METRICS_PORT > 0
      ? await serveMetrics(metrics.registry, {
          host: config.WORKER_METRICS_HOST,
          port: config.WORKER_METRICS_PORT,
          extra: sdkMetrics ? () => fetchText(`http://${sdkMetrics}/metrics`) : undefined,
        }).catch((err: unknown) => {
          logger.warn(
            { err, port: config.WORKER_METRICS_PORT },
            'worker metrics not served (set WORKER_METRICS_PORT to a free port, or 0)',
          );
          return null;
        })
      : null;
  if (metricsServer) logger.info({ url: `http://${config.WORKER_METRICS_HOST}:${metricsServer.port}/metrics` }, 'worker metrics served');
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
  // SIGINT or SIGTERM drains the worker: it stops polling, running downloads get the SDK's
  // grace and are then handed back. A second signal (a double Ctrl-C, a supervisor that
  // signals twice) is only logged, so the drain is never cut short.
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.on(signal, () => {
      if (stopping) return void logger.warn({ signal }, 'already stopping: running downloads are being handed back');
      stopping = true;
      logger.info({ signal }, 'stopping: no new work; running downloads are handed back');
      workers.shutdown();
    });
  try {
    await workers.run();
  } finally {
    await metricsServer?.close();
    await journal.stop();
    await temporal.connection.close();
    await db.$disconnect();
    logger.info('worker stopped');
  }
}

runEntryPoint('worker', main);
