import os from 'node:os';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_REGISTRATIONS } from '../domain/downloads/definitions';
import { findExecutable, isExecutable } from './executables';

/**
 * Finds the `temporal` binary: TEMPORAL_CLI_PATH, then PATH, then where
 * `go install` puts it ($GOBIN, $GOPATH/bin, ~/go/bin).
 */
export function resolveTemporalCli(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TEMPORAL_CLI_PATH) {
    if (isExecutable(env.TEMPORAL_CLI_PATH)) return env.TEMPORAL_CLI_PATH;
    throw new Error(`TEMPORAL_CLI_PATH points to "${env.TEMPORAL_CLI_PATH}", which is not an executable file`);
  }
  const goInstalled = [
    ...(env.GOBIN ? [path.join(env.GOBIN, 'temporal')] : []),
    ...(env.GOPATH ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, 'bin', 'temporal')),
    path.join(os.homedir(), 'go', 'bin', 'temporal'),
  ];
  const found = findExecutable('temporal', env) ?? goInstalled.find(isExecutable);
  if (!found) throw new Error('the Temporal CLI (`temporal`) was not found; run `npm run setup` to install it');
  return found;
}

export interface DevServerOptions {
  port: number;
  /** Omit for a headless server (tests). */
  uiPort?: number;
  httpPort?: number;
  metricsPort?: number;
  /** SQLite file for persistence; omit for in-memory (tests). */
  dbFile?: string;
  namespace: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Arguments for `temporal server start-dev`, with our custom search attributes registered. */
export function devServerArgs(o: DevServerOptions): string[] {
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(o.port), '--log-level', o.logLevel ?? 'warn'];
  if (o.namespace !== 'default') args.push('--namespace', o.namespace);
  if (o.uiPort) args.push('--ui-port', String(o.uiPort));
  else args.push('--headless');
  if (o.httpPort) args.push('--http-port', String(o.httpPort));
  if (o.metricsPort) args.push('--metrics-port', String(o.metricsPort));
  if (o.dbFile) args.push('--db-filename', o.dbFile);
  for (const { name, type } of SEARCH_ATTRIBUTE_REGISTRATIONS) args.push('--search-attribute', `${name}=${type}`);
  return args;
}
