import { downloadWorkflowId } from '../../domain/downloads/definitions';
import { replyTo, sendText } from '../support/bot-messages';
import { ADMIN_ID, startStack, type Stack } from '../support/stack';

/**
 * What an operator finds in the Temporal Web UI, read through the client as the
 * UI reads it: search attributes kept current (state, platform, downloader,
 * chat, error kind), so `DownloadState="failed" AND Platform="generic"` finds a
 * failure; a memo with link, requester and title; a summary and details that
 * say "Download <link> for <person>"; activities with summaries.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

async function listed(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of stack.client.workflow.list({ query })) ids.push(w.workflowId);
  return ids;
}

async function keyOf(url: string): Promise<string> {
  return (await stack.database.db.download.findFirstOrThrow({ where: { url } })).contentKey;
}

test('a failed and a completed download carry the attributes, memo, summary and details the Web UI shows', async () => {
  const okUrl = stack.media.route('/ui/fine.mp4');
  const goneUrl = stack.media.route('/ui/gone.mp4', { status: 404 });
  const ok = sendText(stack.telegram, okUrl, ADMIN_ID);
  const gone = sendText(stack.telegram, goneUrl, ADMIN_ID);
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, ok, /Downloaded/), 60_000, 'the completion');
  await stack.telegram.waitForCall(replyTo(ADMIN_ID, gone, /Download failed/), 60_000, 'the failure');
  const [okId, goneId] = [downloadWorkflowId(await keyOf(okUrl)), downloadWorkflowId(await keyOf(goneUrl))];
  // The workflows close just after telling people; visibility follows a moment later.
  for (const id of [okId, goneId]) await stack.client.workflow.getHandle(id).result();
  const failedQuery = `DownloadState="failed" AND Platform="generic" AND ErrorKind="NotFound" AND Downloader="generic" AND ChatId="${ADMIN_ID}"`;
  for (let i = 0; i < 50 && !(await listed(failedQuery)).includes(goneId); i++) await new Promise((r) => setTimeout(r, 200));

  expect(await listed(failedQuery)).toEqual([goneId]);
  expect(await listed(`DownloadState="completed" AND Downloader="generic" AND RequestedBy="${ADMIN_ID}"`)).toEqual([okId]);
  expect(await listed(`ErrorKind="NotFound" AND DownloadState="completed"`)).toEqual([]);

  const done = await stack.client.workflow.getHandle(okId).describe();
  expect(done.memo).toMatchObject({ url: okUrl, requester: 'User', title: expect.any(String) });
  expect(await done.staticSummary()).toMatch(/^Download 127\.0\.0\.1:\d+\/ui\/fine\.mp4 for User$/);
  expect(await done.staticDetails()).toContain(`**Link:** ${okUrl}`);

  // The failure in the failed download's history reads in plain words, typed by its kind.
  const failedHistory = await stack.client.workflow.getHandle(goneId).fetchHistory();
  const failures = (failedHistory.events ?? []).flatMap((e) =>
    e.activityTaskFailedEventAttributes?.failure ? [e.activityTaskFailedEventAttributes.failure] : [],
  );
  expect(failures.length).toBeGreaterThan(0);
  for (const f of failures) {
    expect(f.message).toMatch(/^[a-z].{10,}/);
    expect(f.message).not.toMatch(/^Error\b|^\w*Error:/);
    expect(f.applicationFailureInfo?.type).toBe('NotFound');
  }

  // Each activity is scheduled with a summary the history view shows.
  const history = await stack.client.workflow.getHandle(okId).fetchHistory();
  const summaries = (history.events ?? [])
    .filter((e) => e.activityTaskScheduledEventAttributes)
    .map((e) => (e.userMetadata?.summary ? String(Buffer.from(e.userMetadata.summary.data ?? []).toString()) : ''));
  expect(summaries.length).toBeGreaterThan(2);
  expect(summaries.every((s) => s.length > 0)).toBe(true);
  expect(summaries.some((s) => s.includes('Download the file'))).toBe(true);
}, 120_000);
