import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { BotDeps } from '../../bot/context';
import { queueLinks } from '../../bot/queue-links';
import type { Resolver } from '../../domain/downloads/destinations';
import { createLogger } from '../../lib/logger';
import { intakeReplyText } from '../../bot/replies';
import { DownloadsClient, downloadsSettings } from '../../domain/downloads/client';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import { downloadWorkflowId } from '../../domain/downloads/definitions';
import { intakeOnlyDeps } from '../support/bot-deps';
import { testSettings } from '../support/settings';
import { startTemporal, type TestTemporal } from '../support/temporal-server';

/**
 * Intake refuses links that lead to private or internal addresses before
 * anything is queued: literal addresses in any disguise, internal names, and
 * names that resolve to such addresses. A resolver that does not answer in
 * time does not hold the message up; the worker checks again anyway.
 */

let temporal: TestTemporal;
let client: Client;
beforeAll(async () => {
  temporal = await startTemporal();
  client = new Client({ connection: await Connection.connect({ address: temporal.address }) });
});
afterAll(async () => {
  await client?.connection.close();
  await temporal?.stop();
});

const settings = testSettings({ TASK_QUEUE: 'intake-dest', DOWNLOAD_TASK_QUEUE: 'intake-dest-downloads', ALLOW_PRIVATE_URLS: false });
const noRecords = async () => null;
const DNS: Record<string, string[]> = {
  'cdn.example.test': ['10.1.2.3'],
  'meta.example.test': ['93.184.216.34', '169.254.169.254'],
  'public.example.test': ['93.184.216.34'],
};
const fakeDns: Resolver = async (host) => {
  const addresses = DNS[host];
  if (!addresses) throw new Error(`ENOTFOUND ${host}`);
  return addresses;
};

function deps(resolveHost: Resolver): BotDeps {
  const downloads = new DownloadsClient(client, downloadsSettings(settings), noRecords);
  return intakeOnlyDeps({ settings, logger: createLogger({ level: 'silent' }), downloads, resolveHost });
}

async function exists(link: string): Promise<boolean> {
  const parsed = parseMediaUrl(link);
  if (!parsed.ok) throw new Error('bad link');
  try {
    await client.workflow.getHandle(downloadWorkflowId(contentKeyFor(parsed.url, 'video'))).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

test('private destinations are refused with the address as parsed or resolved; the public one is queued', async () => {
  const links = [
    'http://0x7f000001:7233/',
    'http://cdn.example.test/v.mp4',
    'http://meta.example.test/latest',
    'http://public.example.test/v.mp4',
  ];
  const report = await queueLinks(deps(fakeDns), {
    text: links.join(' '),
    extraUrls: [],
    chatId: 5,
    userId: 5,
    messageId: 1,
    correlationId: 'dest',
    mode: 'video',
    role: 'owner',
  });

  expect(report.queued.map((q) => q.url)).toEqual(['http://public.example.test/v.mp4']);
  expect(report.rejected).toEqual([
    { input: 'http://127.0.0.1:7233/', reason: 'private_address', refusal: { category: 'loopback', address: '127.0.0.1' } },
    { input: 'http://cdn.example.test/v.mp4', reason: 'private_address', refusal: { category: 'private', address: '10.1.2.3' } },
    { input: 'http://meta.example.test/latest', reason: 'private_address', refusal: { category: 'metadata', address: '169.254.169.254' } },
  ]);
  for (const link of links.slice(0, 3)) expect(await exists(link)).toBe(false);
  expect(await exists(links[3]!)).toBe(true);

  const reply = intakeReplyText(report);
  expect(reply).toContain('http://127.0.0.1:7233/ - the link leads to a loopback address (this server itself) (127.0.0.1)');
  expect(reply).not.toContain('0x7f000001');
});

test('a resolver that hangs does not hold the message up: the link is queued after the deadline and left to the worker', async () => {
  const hangs: Resolver = () => new Promise(() => undefined);
  const started = Date.now();
  const report = await queueLinks(deps(hangs), {
    text: 'http://slow.example.test/v.mp4',
    extraUrls: [],
    chatId: 5,
    userId: 5,
    messageId: 2,
    correlationId: 'dest',
    mode: 'video',
    role: 'owner',
  });
  expect(report.queued.map((q) => q.url)).toEqual(['http://slow.example.test/v.mp4']);
  expect(Date.now() - started).toBeLessThan(10_000);
}, 30_000);
