import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { parseConfig } from '../lib/config';
import type { TestDatabase } from '../test/support/database';
import type { FakeBotApi } from '../test/support/fake-bot-api';
import type { MediaServer } from '../test/support/media-server';
import { startProcessStack } from '../test/support/process-stack';
import { ADMIN_ID, BOT_TOKEN } from '../test/support/stack';

export interface BenchStack {
  telegram: FakeBotApi;
  media: MediaServer;
  database: TestDatabase;
  client: Client;
  downloadDir: string;
  /** Process IDs of the worker and the bot. */
  pids: { worker: number; bot: number };
  stop(): Promise<void>;
}

/**
 * The product as it runs in production: the worker and the bot as processes of
 * their own (`workers/main.ts`, `bot/main.ts`) on the tests' process stack (a
 * Temporal dev server, a fresh PostgreSQL database, Redis under a key prefix of
 * its own, a fake Bot API and a media server on loopback). Everything it starts,
 * `stop()` stops.
 */
export async function startBenchStack(settings: Record<string, string>): Promise<BenchStack> {
  const stack = await startProcessStack({ name: 'bench', adminIds: String(ADMIN_ID), media: true });
  let client: Client | undefined;
  let stopping = false;
  const stop = async () => {
    stopping = true;
    await client?.connection.close();
    await stack.stop();
  };
  try {
    // Production's defaults: tests pin one workflow thread (they start many workers), the bench measures what runs.
    const defaults = parseConfig({ TELEGRAM_BOT_TOKEN: BOT_TOKEN, ADMIN_IDS: String(ADMIN_ID) });
    const env = stack.env({
      WORKFLOW_THREADS: String(defaults.WORKFLOW_THREADS),
      ALLOW_PRIVATE_URLS: 'true', // the media servers are on loopback
      LOG_LEVEL: 'warn',
      ...settings,
    });
    const [worker, bot] = [stack.start('worker', env), stack.start('bot', env)];
    for (const p of [worker, bot])
      void p.exited.then((code) => {
        if (!stopping) console.error(`bench: the ${p.name} exited (${code}):\n${p.output().slice(-4000)}`);
      });
    client = new Client({ connection: await Connection.connect({ address: stack.temporal.address }) });
    return {
      telegram: stack.telegram,
      media: stack.media,
      database: stack.database,
      client,
      downloadDir: path.join(stack.dir, 'downloads'),
      pids: { worker: worker.child.pid!, bot: bot.child.pid! },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
