// npm run temporal: the Temporal dev server for local use, with its state kept in
// TEMPORAL_DEV_DB_FILE (under .data/), the Web UI on TEMPORAL_UI_PORT and the
// project's custom search attributes registered.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, parsePartialConfig, readEnv } from '../lib/config';
import { devServerArgs, resolveTemporalCli } from '../lib/temporal-cli';

const ROOT = path.resolve(__dirname, '..');

export function temporalDevCommand(env: Record<string, string | undefined>): { command: string; args: string[]; uiUrl: string } {
  const c = parsePartialConfig(env, ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TEMPORAL_UI_PORT', 'TEMPORAL_DEV_DB_FILE']);
  const port = Number(c.TEMPORAL_ADDRESS.split(':').at(-1));
  const dbFile = path.resolve(ROOT, c.TEMPORAL_DEV_DB_FILE);
  fs.mkdirSync(path.dirname(dbFile), { recursive: true });
  const args = devServerArgs({ port, uiPort: c.TEMPORAL_UI_PORT, dbFile, namespace: c.TEMPORAL_NAMESPACE, logLevel: 'warn' });
  return { command: resolveTemporalCli({ ...process.env, ...env }), args, uiUrl: `http://127.0.0.1:${c.TEMPORAL_UI_PORT}` };
}

if (require.main === module) {
  try {
    const { command, args, uiUrl } = temporalDevCommand(readEnv(ROOT));
    console.log(`Temporal dev server: ${args[args.indexOf('--port') + 1]} (Web UI ${uiUrl})`);
    const child = spawn(command, args, { stdio: 'inherit' });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
    child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
  } catch (err) {
    console.error(err instanceof ConfigError || err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
