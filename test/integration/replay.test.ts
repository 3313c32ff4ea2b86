import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/test-workers';

/**
 * Workflow code meets workflows that started under older code: a download can
 * wait 72 hours for disk space across a deploy. Each history here was recorded
 * from a real run (see README, "Refreshing replay histories"); the current code
 * must replay every one of them without a nondeterminism error. Files named
 * `v1-*` come from the first released workflow code.
 */

const DIR = path.resolve(__dirname, '..', 'support', 'histories');
const files = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

test('there are recorded histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(5);
});

test.each(files)('replays %s', async (file) => {
  const history = JSON.parse(fs.readFileSync(path.join(DIR, file), 'utf8'));
  await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history, path.basename(file, '.json'));
});
