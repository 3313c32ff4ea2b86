import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * The lint rules that guard the workflow sandbox, checked once: `npm test` runs
 * ESLint over the code, and this proves the rule it relies on actually fails a
 * workflow file that reaches for Node or I/O, while allowing what workflows need.
 */

const ROOT = path.resolve(__dirname, '..', '..');

type Probe = { file: string; code: string };

/**
 * Lints every probe in one plain Node process with the project's own ESLint
 * configuration (Jest's module sandbox cannot load it), as `npm run lint` would.
 */
function lintProbes(probes: Probe[]): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const path = require('node:path');
    (async () => {
      const probes = JSON.parse(process.argv[1]);
      const eslint = new ESLint({ cwd: process.cwd() });
      const out = [];
      for (const { file, code } of probes) {
        const [result] = await eslint.lintText(code, { filePath: path.join(process.cwd(), file) });
        out.push(result.messages.map((m) => m.ruleId + ': ' + m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((err) => { console.error(err); process.exit(1); });`;
  return JSON.parse(
    execFileSync(process.execPath, ['-e', script, JSON.stringify(probes)], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 }),
  ) as string[][];
}

const FORBIDDEN: Array<[string, string]> = [
  ['a Node built-in', "import fs from 'node:fs';\nexport const size = fs.statSync('x').size;\n"],
  ['a bare Node built-in', "import { randomUUID } from 'crypto';\nexport const id = randomUUID();\n"],
  ['a database client', "import { Pool } from 'pg';\nexport const pool = new Pool();\n"],
  ['the activity context', "import { Context } from '@temporalio/activity';\nexport const c = Context;\n"],
  ['activity code as a value', "import { createActivities } from '../activities';\nexport const a = createActivities;\n"],
  ['project infrastructure', "import { createLogger } from '../lib/logger';\nexport const l = createLogger;\n"],
  [
    'a domain module that uses Node (crypto)',
    "import { contentKeyFor } from '../domain/downloads/links';\nexport const k = contentKeyFor;\n",
  ],
  ['the downloads client', "import { DownloadsClient } from '../domain/downloads/client';\nexport const c = DownloadsClient;\n"],
];
const ALLOWED_IN_WORKFLOW = [
  "import { proxyActivities } from '@temporalio/workflow';",
  "import type { LightActivities } from '../activities';",
  "import { subscribeSignal } from '../domain/downloads/definitions';",
  'export const acts = proxyActivities<LightActivities>({ startToCloseTimeout: 1000 });',
  'export const s = subscribeSignal;',
  '',
].join('\n');
const FLOATING = 'async function work(): Promise<void> {}\nexport function start(): void {\n  work();\n}\n';

let results: string[][];
beforeAll(() => {
  results = lintProbes([
    ...FORBIDDEN.map(([, code]) => ({ file: 'workflows/lint-probe.ts', code })),
    { file: 'workflows/lint-probe.ts', code: ALLOWED_IN_WORKFLOW },
    { file: 'activities/lint-probe.ts', code: FORBIDDEN[0]![1] },
    { file: 'lib/lint-probe.ts', code: FLOATING },
  ]);
}, 60_000);

test.each(FORBIDDEN.map(([what], i) => [what, i] as const))('a workflow file importing %s fails lint', (_what, i) => {
  expect(results[i]!.some((p) => p.startsWith('@typescript-eslint/no-restricted-imports') && p.includes('deterministic'))).toBe(true);
});

test('a workflow file may import the workflow API, the shared definitions and activity types', () => {
  expect(results[FORBIDDEN.length]).toEqual([]);
});

test('the same Node import outside workflow code is fine', () => {
  expect(results[FORBIDDEN.length + 1]).toEqual([]);
});

test('a promise nobody awaits fails lint', () => {
  expect(results[FORBIDDEN.length + 2]).toEqual([expect.stringContaining('@typescript-eslint/no-floating-promises')]);
});
