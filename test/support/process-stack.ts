import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRedis } from '../../lib/redis';
import { createTestDatabase, type TestDatabase } from './database';
import { spawnEntryPoint } from './entry-points';
import { eventually } from './eventually';
import { FakeBotApi } from './fake-bot-api';
import { MediaServer } from './media-server';
import { BOT_TOKEN, deleteKeys } from './stack';
import { startTemporal, type TestTemporal } from './temporal-server';

/**
 * The services a test file runs the real entry points against (each in a process
 * of its own, as in production): a Temporal dev server, a database, a fake Bot
 * API, optionally a media server, a folder and a Redis key prefix of its own.
 * `env()` is the environment those processes get; `start()` runs one and keeps
 * its output; `stop()` kills what still runs and stops everything that started.
 */
export interface ProcessStack {
  temporal: TestTemporal;
  database: TestDatabase;
  telegram: FakeBotApi;
  /** Only when asked for with `media: true`. */
  media: MediaServer;
  dir: string;
  redisPrefix: string;
  /** The environment of an entry point on these services; `extra` adds or replaces variables. */
  env(extra?: Record<string, string>): Record<string, string>;
  start(name: 'bot' | 'worker', env: Record<string, string>): RunningProcess;
  /** Starts a worker and waits until it says "worker started" (throws with its output if it exits first). */
  startWorker(env: Record<string, string>): Promise<RunningProcess>;
  stop(): Promise<void>;
}

export interface RunningProcess {
  name: 'bot' | 'worker';
  child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** Sends `signal` (when it still runs) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startProcessStack(o: {
  /** Names the folder, the Redis prefix and the task queues. */
  name: string;
  adminIds: string;
  token?: string;
  media?: boolean;
}): Promise<ProcessStack> {
  const telegram = new FakeBotApi(o.token ?? BOT_TOKEN);
  const media = new MediaServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mediadl-${o.name}-`));
  const redisPrefix = `test:${o.name}:${process.pid}:`;
  const running: RunningProcess[] = [];
  let temporal: TestTemporal | undefined;
  let database: TestDatabase | undefined;

  async function stop(): Promise<void> {
    for (const p of running) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    const redis = createRedis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0', redisPrefix);
    await deleteKeys(redis).finally(() => redis.disconnect());
    await Promise.all([temporal?.stop(), database?.drop(), telegram.stop(), o.media ? media.stop() : undefined]);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  try {
    // Each service is recorded as soon as it is up, so stop() stops it even if another failed to start.
    await Promise.all([
      startTemporal().then((t) => (temporal = t)),
      createTestDatabase().then((d) => (database = d)),
      telegram.start(),
      o.media ? media.start() : undefined,
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  const start = (name: 'bot' | 'worker', env: Record<string, string>): RunningProcess => {
    const child = spawnEntryPoint(name, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const p: RunningProcess = {
      name,
      child,
      output: () => output,
      exited,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
    running.push(p);
    return p;
  };

  return {
    temporal: temporal!,
    database: database!,
    telegram,
    media,
    dir,
    redisPrefix,
    env: (extra = {}) => ({
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      TELEGRAM_BOT_TOKEN: o.token ?? BOT_TOKEN,
      TELEGRAM_API_ROOT: telegram.apiRoot,
      ADMIN_IDS: o.adminIds,
      DATABASE_URL: database!.url,
      REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
      REDIS_KEY_PREFIX: redisPrefix,
      TEMPORAL_ADDRESS: temporal!.address,
      TASK_QUEUE: o.name,
      DOWNLOAD_TASK_QUEUE: `${o.name}-downloads`,
      DOWNLOAD_DIR: path.join(dir, 'downloads'),
      MIN_DISK_SPACE_GB: '0',
      LOG_LEVEL: 'info',
      ...extra,
    }),
    start,
    async startWorker(env) {
      const worker = start('worker', env);
      await eventually(() => worker.output().includes('"worker started"') || worker.child.exitCode !== null, 60_000, 'the worker to start');
      if (worker.child.exitCode !== null) throw new Error(`the worker exited (${worker.child.exitCode}): ${worker.output()}`);
      return worker;
    },
    stop,
  };
}
