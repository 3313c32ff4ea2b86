import { spawn, type ChildProcess } from 'node:child_process';
import { temporalReady } from '../../lib/temporal-client';
import { devServerArgs, resolveTemporalCli } from '../../lib/temporal-cli';
import { freePort } from './free-port';

export interface TestTemporal {
  address: string;
  namespace: string;
  stop(): Promise<void>;
}

/**
 * A real Temporal dev server of our own: in memory, headless, on free ports,
 * with the project's search attributes. Never the developer's running stack.
 * The server also binds internal ports of its own choosing; when a test file
 * starting in parallel takes one first, it starts again on fresh ports.
 */
export async function startTemporal(namespace = 'default', options: PersistOptions = {}): Promise<TestTemporal> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(namespace, options);
    } catch (err) {
      // A server that dies while starting (a port taken between our check and its bind; the
      // panic's first line may be all that says so) starts again on fresh ports.
      if (attempt >= 3 || options.port || !/address already in use|temporal dev server exited/.test(String(err))) throw err;
    }
  }
}

/** For tests that restart the server: keep its state in `dbFile`, and listen on `port` again. */
export interface PersistOptions {
  dbFile?: string;
  port?: number;
}

async function startOnce(namespace: string, options: PersistOptions): Promise<TestTemporal> {
  const [port, httpPort, metricsPort] = [options.port ?? (await freePort()), await freePort(), await freePort()];
  const args = devServerArgs({ port, httpPort, metricsPort, namespace, logLevel: 'error', dbFile: options.dbFile });
  const child: ChildProcess = spawn(resolveTemporalCli(), args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  // The start and the end of what it printed: a panic's cause ("address already in use") is at
  // its start, before a long stack trace.
  let head = '';
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    const text = d.toString();
    if (head.length < 2000) head = (head + text).slice(0, 2000);
    tail = (tail + text).slice(-2000);
  });
  const printed = () => (head.length < 2000 ? head : `${head}\n…\n${tail}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  while (!(await temporalReady(address, namespace))) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`temporal dev server exited: ${printed()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not start within 30 s: ${printed()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address,
    namespace,
    async stop() {
      if (child.exitCode === null) {
        // An in-memory server has nothing to save: ending it at once saves a second per test file.
        child.kill(options.dbFile ? 'SIGTERM' : 'SIGKILL');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
