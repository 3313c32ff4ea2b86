// Part of `npm run setup`: makes sure PostgreSQL and Redis answer (starting the
// local ones when they are installed but stopped), creates the database and
// applies migrations. Safe to run again.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { parsePartialConfig, readEnv } from '../lib/config';
import { ensureDatabase } from '../lib/database-admin';
import { applyMigrations } from '../lib/migrations';

const say = (message: string) => console.log(`setup: ${message}`);

function reachable(host: string, port: number, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitFor(host: string, port: number, seconds: number): Promise<boolean> {
  for (let i = 0; i < seconds * 4; i++) {
    if (await reachable(host, port, 250)) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

const isLocal = (host: string) => ['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host);
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;

async function ensurePostgres(url: URL): Promise<void> {
  const host = url.hostname;
  const port = Number(url.port || 5432);
  if (await reachable(host, port)) return say(`PostgreSQL answers on ${host}:${port}`);
  if (isLocal(host) && has('pg_ctlcluster') && fs.existsSync('/etc/postgresql')) {
    const version = fs.readdirSync('/etc/postgresql').sort().at(-1);
    if (version) {
      say(`starting the local PostgreSQL ${version} cluster`);
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
      if (await waitFor(host, port, 30)) return say(`PostgreSQL answers on ${host}:${port}`);
    }
  }
  throw new Error(`PostgreSQL is not reachable at ${host}:${port}. Start it, or set DATABASE_URL in .env to a server that runs.`);
}

async function ensureRedis(url: URL): Promise<void> {
  const host = url.hostname;
  const port = Number(url.port || 6379);
  if (await reachable(host, port)) return say(`Redis answers on ${host}:${port}`);
  if (isLocal(host) && has('redis-server')) {
    say('starting the local Redis server');
    execFileSync(
      'redis-server',
      ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', String(port), '--save', '', '--appendonly', 'no'],
      { stdio: 'inherit' },
    );
    if (await waitFor(host, port, 15)) return say(`Redis answers on ${host}:${port}`);
  }
  throw new Error(`Redis is not reachable at ${host}:${port}. Start it, or set REDIS_URL in .env to a server that runs.`);
}

async function main(): Promise<void> {
  const { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl } = parsePartialConfig(readEnv(), ['DATABASE_URL', 'REDIS_URL']);
  await ensurePostgres(new URL(databaseUrl));
  await ensureRedis(new URL(redisUrl));
  const name = new URL(databaseUrl).pathname.slice(1);
  say((await ensureDatabase(databaseUrl)) ? `created database ${name}` : `database ${name} exists`);
  const applied = await applyMigrations(databaseUrl);
  say(applied.length ? `applied migrations: ${applied.join(', ')}` : 'database schema is up to date');
}

// The WASM schema engine leaves a timer running after its work is done; exit
// explicitly rather than idling for ten seconds.
main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(`setup: ERROR: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
