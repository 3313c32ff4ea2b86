import fs from 'node:fs';
import path from 'node:path';
import { downloadWorkflowId, PLAYLIST_WORKFLOW_TYPE } from '../../domain/downloads/definitions';
import { contentKeyFor, parseMediaUrl } from '../../domain/downloads/links';
import type { RecordedCall } from '../support/fake-bot-api';
import { ADMIN_ID, startStack, type Stack } from '../support/stack';
import { textMessage } from '../support/telegram-updates';

/**
 * The largest playlist allowed (MAX_PLAYLIST_VIDEOS=1000), from a generated
 * feed: every entry is downloaded, at most PLAYLIST_PARALLEL at once, and each
 * run of the playlist workflow keeps its history under 10,000 events by
 * continuing as new with its state.
 */

const ENTRIES = 1_000;
const PARALLEL = 40;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    MAX_PLAYLIST_VIDEOS: String(ENTRIES),
    PLAYLIST_PARALLEL: String(PARALLEL),
    DIRECT_SOURCE: 'true',
    LOG_LEVEL: 'warn',
  });
});

afterAll(async () => {
  await stack?.stop();
});

test('a 1,000-entry feed: all downloaded, one summary, no run of the playlist past 10,000 events', async () => {
  const small = path.join(stack.media.dir, 'tiny.mp4');
  fs.writeFileSync(small, fs.readFileSync(stack.media.clipPath).subarray(0, 4096));
  const items = Array.from({ length: ENTRIES }, (_, i) => {
    const url = stack.media.route(`/big/e${i}.mp4`, { file: small });
    return `<item><title>Entry ${i}</title><enclosure url="${url}" type="video/mp4" length="4096"/></item>`;
  });
  const url = stack.media.page(
    '/big.rss',
    `<?xml version="1.0"?><rss version="2.0"><channel><title>Big Feed</title><link>${stack.media.origin}/</link><description>d</description>${items.join('')}</channel></rss>`,
    'application/rss+xml',
  );
  const update = textMessage({ userId: ADMIN_ID, text: url });
  stack.telegram.pushUpdate(update);
  const replyTo = (pattern: RegExp) => (c: RecordedCall) =>
    c.method === 'sendMessage' &&
    (c.payload.reply_parameters as { message_id?: number } | undefined)?.message_id === update.message.message_id &&
    pattern.test(String(c.payload.text));

  await stack.telegram.waitForCall(replyTo(/Queued 1000 videos from "Big Feed"/), 60_000, 'the playlist reply');
  const summary = await stack.telegram.waitForCall(replyTo(/Playlist "Big Feed" finished/), 240_000, 'the summary');
  expect(String(summary.payload.text)).toContain('1000 videos: downloaded: 1000, already had: 0, failed: 0');
  expect(fs.readdirSync(path.join(stack.config.DOWNLOAD_DIR, 'Big_Feed'))).toHaveLength(ENTRIES);
  for (let i = 0; i < ENTRIES; i += 1) expect(stack.media.count(`/big/e${i}.mp4`)).toBe(1);

  // Every run of the playlist, counted from its history.
  const parsed = parseMediaUrl(url);
  if (!parsed.ok) throw new Error('bad url');
  const workflowId = downloadWorkflowId(contentKeyFor(parsed.url, 'video'));
  const runs: Array<{ type: string; events: number }> = [];
  for await (const info of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await stack.client.workflow.getHandle(workflowId, info.runId).fetchHistory();
    runs.push({ type: info.type, events: history.events?.length ?? 0 });
  }
  const playlistRuns = runs.filter((r) => r.type === PLAYLIST_WORKFLOW_TYPE);
  expect(playlistRuns.length).toBeGreaterThan(1); // it did continue as new
  for (const run of runs) expect(run.events).toBeLessThan(10_000);
}, 300_000);
