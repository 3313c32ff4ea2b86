import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const TSX_LOADER = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs');

/**
 * A real entry point (bot, worker, API, ops CLI) in a process of its own, as `npm run bot`
 * and the others start it (one process: node loads tsx itself). `cwd` is
 * a directory of the test's own, so no developer .env is read; `env` is all the
 * environment the process gets.
 */
export function spawnEntryPoint(
  name: 'bot' | 'worker' | 'api' | 'ops',
  o: { cwd: string; env: Record<string, string>; stdio?: StdioOptions; args?: string[] },
): ChildProcess {
  const entry = path.join(ROOT, name === 'worker' ? 'workers' : name, 'main.ts');
  return spawn(process.execPath, ['--import', TSX_LOADER, entry, ...(o.args ?? [])], {
    cwd: o.cwd,
    // Suites run side by side: the worker's metrics port stays off unless a test asks for it.
    // One workflow thread: tests start many workers, and a second one loads the bundle again.
    env: { WORKER_METRICS_PORT: '0', WORKFLOW_THREADS: '1', ...o.env },
    stdio: o.stdio ?? ['ignore', 'ignore', 'pipe'],
  });
}
