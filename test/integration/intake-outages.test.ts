import { Client, Connection } from '@temporalio/client';
import { queueLinks } from '../../bot/queue-links';
import { DownloadsClient, downloadsSettings, type CompletedLookup } from '../../domain/downloads/client';
import { completedLookup } from '../../domain/downloads/completed';
import { createDb } from '../../lib/db';
import { createLogger, LogCollector } from '../../lib/logger';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import { downloadWorkflowId } from '../../domain/downloads/definitions';
import { freePort } from '../support/free-port';
import { intakeOnlyDeps } from '../support/bot-deps';
import { testSettings } from '../support/settings';
import { startTemporal } from '../support/temporal-server';

/**
 * What the bot does with a message of links when a service it talks to is down:
 * Temporal down means a quick "could not queue, send again" for every link (not
 * minutes of waiting); PostgreSQL down means the links are queued anyway.
 */

const settings = testSettings({ TASK_QUEUE: 'outage-test', DOWNLOAD_TASK_QUEUE: 'outage-test-downloads', DOWNLOAD_DIR: '/tmp' });
const LINKS = ['https://example.com/a.mp4', 'https://example.com/b.mp4', 'https://example.com/c.mp4'];
const request = {
  text: LINKS.join(' '),
  extraUrls: [],
  chatId: 5,
  userId: 5,
  messageId: 9,
  correlationId: 'outage',
  mode: 'video' as const,
  role: 'owner' as const,
};
const noRecords = async () => null;
const deps = (client: Client, lookup: CompletedLookup, logs: LogCollector) =>
  intakeOnlyDeps({
    settings,
    logger: createLogger({ level: 'info', destination: logs }),
    downloads: new DownloadsClient(client, downloadsSettings(settings), lookup),
  });

test('with Temporal down every link is reported as not queued, promptly, and nothing is lost silently', async () => {
  const temporal = await startTemporal();
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  await temporal.stop();
  const logs = new LogCollector();
  try {
    const report = await queueLinks(deps(client, noRecords, logs), request);

    expect(report.failed).toEqual(LINKS);
    expect(report.queued).toEqual([]);
    // Only the first link waited for Temporal; the others were answered without trying again.
    const failures = logs.entries().filter((e) => e.msg === 'could not queue download; not asking Temporal again for this message');
    expect(failures).toHaveLength(1);
    // Our 5 s deadline ended the wait (without it, the client retries for about 20 s, then reports UNAVAILABLE).
    expect(JSON.stringify(failures[0]?.err)).toContain('DEADLINE_EXCEEDED');
  } finally {
    await client.connection.close();
  }
}, 30_000);

test('with PostgreSQL down the links are still queued', async () => {
  const temporal = await startTemporal();
  const client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
  const unreachable = createDb(`postgresql://postgres@127.0.0.1:${await freePort()}/nothing`);
  const logs = new LogCollector();
  try {
    const report = await queueLinks(deps(client, completedLookup(unreachable, settings.DOWNLOAD_DIR), logs), request);

    expect(report.queued.map((q) => q.url)).toEqual(LINKS);
    for (const link of LINKS) {
      const parsed = parseMediaUrl(link);
      if (!parsed.ok) throw new Error('bad link');
      const description = await client.workflow.getHandle(downloadWorkflowId(contentKeyFor(parsed.url, 'video'))).describe();
      expect(description.status.name).toBe('RUNNING');
    }
    expect(logs.entries().filter((e) => e.msg === 'database lookup failed; queueing without it')).toHaveLength(1);
  } finally {
    await unreachable.$disconnect();
    await client.connection.close();
    await temporal.stop();
  }
}, 30_000);
