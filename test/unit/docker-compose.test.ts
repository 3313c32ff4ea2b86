// The container deployment: docker-compose.yml (validated by `docker compose` and
// `docker-compose` when installed, and read for what the stack relies on), the
// Temporal set-up jobs' scripts in deploy/compose (run against a stand-in `temporal`
// CLI, so their retry and conflict handling is exercised without a server), the
// Dockerfile and .dockerignore.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_REGISTRATIONS } from '../../domain/downloads/definitions';

const ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE_DIR = path.join(ROOT, 'deploy', 'compose');
const composeText = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');
const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

const EXPECTED_SERVICES = [
  'postgres',
  'redis',
  'temporal-schema',
  'temporal',
  'temporal-namespace',
  'temporal-search-attributes',
  'temporal-ui',
  'migrate',
  'worker',
  'bot',
  'api',
];
const APP_SERVICES = ['migrate', 'worker', 'bot', 'api'];
const ENTRY_POINTS: Record<string, string> = {
  migrate: 'scripts/migrate.ts',
  worker: 'workers/main.ts',
  bot: 'bot/main.ts',
  api: 'api/main.ts',
};

/** Names declared directly under the top-level `services:` key (two-space indented). */
function declaredServices(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((line) => /^services:\s*$/.test(line));
  if (start < 0) return [];
  const names: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line) && !line.startsWith('#')) break; // next top-level key
    const match = /^ {2}([A-Za-z0-9._-]+):\s*$/.exec(line);
    if (match) names.push(match[1]);
  }
  return names;
}

/**
 * The lines of a block that starts at the first line equal to `header` after line
 * `from`, and ends before the next line (not a comment) indented as little.
 */
function block(text: string, header: string, from = 0): string {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((line, i) => i >= from && line === header);
  if (start < 0) return '';
  const indent = header.length - header.trimStart().length;
  const end = lines.findIndex(
    (line, i) => i > start && line.trim() !== '' && !line.trimStart().startsWith('#') && line.length - line.trimStart().length <= indent,
  );
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The block of lines belonging to one service (under `services:`, not an extension field's key of that name). */
const serviceBlock = (name: string): string =>
  block(
    composeText,
    `  ${name}:`,
    composeText.split(/\r?\n/).findIndex((line) => line === 'services:'),
  );
/** The block of a top-level key or extension field, such as `x-app: &app`. */
const topBlock = (header: string): string => block(composeText, header);

/** `45s`, `1m30s` as seconds. */
function durationSeconds(text: string): number {
  let seconds = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+)(h|m|s)/g))
    seconds += Number(amount) * { h: 3600, m: 60, s: 1 }[unit as 'h' | 'm' | 's'];
  return seconds;
}

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The Compose implementations installed: the `docker compose` plugin and a `docker-compose` binary (v2, or v1.29). */
function composeCommands(): string[][] {
  const commands: string[][] = [];
  const docker = findOnPath('docker');
  if (docker && spawnSync(docker, ['compose', 'version'], { encoding: 'utf8', timeout: 30_000 }).status === 0) {
    commands.push([docker, 'compose']);
  }
  const standalone = findOnPath('docker-compose');
  if (standalone) commands.push([standalone]);
  return commands;
}

/**
 * docker-compose 1.29 refuses a file whose `env_file` is missing, so validation runs
 * in a scratch directory holding the compose file, the Dockerfile, deploy/compose
 * and a `.env` copied from `.env.example`. Nothing is written into the repository.
 */
function composeInScratchDir(command: string[], args: string[]): { status: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-check-'));
  try {
    fs.copyFileSync(path.join(ROOT, 'docker-compose.yml'), path.join(dir, 'docker-compose.yml'));
    fs.copyFileSync(path.join(ROOT, 'Dockerfile'), path.join(dir, 'Dockerfile'));
    fs.copyFileSync(path.join(ROOT, '.env.example'), path.join(dir, '.env'));
    fs.cpSync(COMPOSE_DIR, path.join(dir, 'deploy', 'compose'), { recursive: true });
    const env = { ...process.env };
    // Settings from the caller's shell must not change what is being validated.
    for (const key of Object.keys(env)) if (key.startsWith('COMPOSE_')) delete env[key];
    const [binary, ...first] = command;
    const result = spawnSync(binary, [...first, '-f', path.join(dir, 'docker-compose.yml'), ...args], {
      cwd: dir,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    return {
      status: result.status,
      stdout: result.stdout ?? '',
      stderr: `${result.stderr ?? ''}${result.error ? String(result.error) : ''}`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('docker-compose.yml', () => {
  test('declares the whole stack, and every installed Compose accepts it', () => {
    expect(declaredServices(composeText).sort()).toEqual([...EXPECTED_SERVICES].sort());

    for (const command of composeCommands()) {
      const check = composeInScratchDir(command, ['config', '-q']);
      expect({ command, status: check.status, stderr: check.status === 0 ? '' : check.stderr }).toEqual({ command, status: 0, stderr: '' });

      const services = composeInScratchDir(command, ['config', '--services']);
      expect(services.status).toBe(0);
      expect(services.stdout.split(/\s+/).filter(Boolean).sort()).toEqual([...EXPECTED_SERVICES].sort());
    }
  });

  test('uses official images, pinned, with admin-tools at the server version and no deprecated auto-setup', () => {
    expect(serviceBlock('postgres')).toMatch(/^\s+image: postgres:16\s*$/m);
    expect(serviceBlock('redis')).toMatch(/^\s+image: redis:7\s*$/m);
    expect(composeText).not.toMatch(/image: temporalio\/auto-setup/);

    const server = /^\s+image: temporalio\/server:(1\.\d+\.\d+)\s*$/m.exec(serviceBlock('temporal'))?.[1];
    expect(server).toMatch(/^1\.(3\d|[4-9]\d)\./);
    // The three Temporal jobs share one admin-tools image, of the server's version
    // (its schema files and temporal-sql-tool must match the server).
    const adminTools = [...composeText.matchAll(/image: temporalio\/admin-tools:(\S+)/g)].map((m) => m[1]);
    expect(adminTools).toEqual([server]);
    expect(topBlock('x-temporal-job: &temporal-job')).toContain(`image: temporalio/admin-tools:${server}`);
    for (const job of ['temporal-schema', 'temporal-namespace', 'temporal-search-attributes']) {
      expect(serviceBlock(job)).toContain('<<: *temporal-job');
    }
    expect(serviceBlock('temporal-ui')).toMatch(/^\s+image: temporalio\/ui:\d+\.\d+\.\d+\s*$/m);
    // Only tags someone chose: nothing floats.
    expect(composeText).not.toMatch(/image: \S+:latest\b/);
  });

  test('sets Temporal up as its own compose reference does: schema job, server with a healthcheck, namespace job', () => {
    const schema = serviceBlock('temporal-schema');
    expect(schema).toMatch(/postgres:\n\s+condition: service_healthy/);
    expect(schema).toContain('command: ["/deploy/temporal-schema.sh"]');
    expect(schema).toContain('- ./deploy/compose:/deploy:ro');
    const script = fs.readFileSync(path.join(COMPOSE_DIR, 'temporal-schema.sh'), 'utf8');
    expect(script).toContain('temporal-sql-tool --plugin postgres12');
    for (const step of ['create', 'setup-schema -v 0.0', 'update-schema -d "$SCHEMA_DIR/$schema/versioned"'])
      expect(script).toContain(step);
    expect(script).toContain('"$DBNAME:temporal" "$VISIBILITY_DBNAME:visibility"');
    expect(schema).toMatch(/DBNAME: temporal\n/);
    expect(schema).toMatch(/VISIBILITY_DBNAME: temporal_visibility\n/);

    const temporal = serviceBlock('temporal');
    expect(temporal).toMatch(/temporal-schema:\n\s+condition: service_completed_successfully/);
    expect(temporal).toContain('DB: postgres12');
    expect(temporal).toMatch(/healthcheck:\n\s+# .*\n\s+test: \["CMD", "nc", "-z", "127\.0\.0\.1", "7233"\]/);
    // The dynamic config file the server is told about is the one mounted.
    const configPath = /DYNAMIC_CONFIG_FILE_PATH: (\S+)/.exec(temporal)?.[1] ?? '';
    const mount = /- \.\/(deploy\/compose\/dynamicconfig):(\S+):ro/.exec(temporal);
    expect(mount).not.toBeNull();
    expect(path.posix.dirname(configPath)).toBe(mount?.[2]);
    expect(fs.existsSync(path.join(ROOT, mount?.[1] ?? '', path.posix.basename(configPath)))).toBe(true);
  });

  test('creates the namespace with a retention it states, longer than a week', () => {
    const job = serviceBlock('temporal-namespace');
    expect(job).toMatch(/temporal:\n\s+condition: service_healthy/);
    expect(job).toContain('NAMESPACE: ${TEMPORAL_NAMESPACE:-default}');
    const retention = /RETENTION: (\d+)h\s*$/m.exec(job)?.[1];
    expect(Number(retention)).toBeGreaterThanOrEqual(7 * 24);
    // ...and says why, next to it.
    expect(job).toMatch(/# .*Retention is how long Temporal keeps a closed workflow/);
    const script = fs.readFileSync(path.join(COMPOSE_DIR, 'temporal-namespace.sh'), 'utf8');
    expect(script).toContain('namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"');
    expect(script).toContain('namespace update --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"');
  });

  test('registers exactly the search attributes the workflows use, after the namespace exists', () => {
    const job = serviceBlock('temporal-search-attributes');
    expect(job).toMatch(/temporal-namespace:\n\s+condition: service_completed_successfully/);
    expect(job).toContain('NAMESPACE: ${TEMPORAL_NAMESPACE:-default}');
    const listed = /SEARCH_ATTRIBUTES: (.+)$/m.exec(job)?.[1].trim().split(/\s+/) ?? [];
    expect(listed).toEqual(SEARCH_ATTRIBUTE_REGISTRATIONS.map(({ name, type }) => `${name}=${type}`));
  });

  test('the Web UI opens on the namespace, on 127.0.0.1 only', () => {
    const ui = serviceBlock('temporal-ui');
    expect(ui).toContain('TEMPORAL_DEFAULT_NAMESPACE: ${TEMPORAL_NAMESPACE:-default}');
    expect(ui).toContain('- "127.0.0.1:${TEMPORAL_UI_PORT:-8233}:8080"');
  });

  test('one service builds the image; the others run its tag and never pull it', () => {
    expect(composeText.match(/^\s+build:/gm)).toHaveLength(1);
    expect(serviceBlock('migrate')).toMatch(/^\s+build: \.\s*$/m);
    const app = topBlock('x-app: &app');
    expect(app).toMatch(/^\s+image: mediadl:local\s*$/m);
    expect(app).toMatch(/^\s+pull_policy: never\s*$/m);
    for (const name of APP_SERVICES) {
      const service = serviceBlock(name);
      expect(service).toContain('<<: *app');
      expect(service).not.toMatch(/^\s+image:/m);
      // node itself, the code under tsx's loader: no npx, no tsx CLI process in between.
      expect(service).toContain(`command: ["node", "--import", "tsx", "${ENTRY_POINTS[name]}"]`);
      expect(fs.existsSync(path.join(ROOT, ENTRY_POINTS[name]))).toBe(true);
    }
    expect(composeText).not.toMatch(/\bnpx\b/);
  });

  test('the worker scales: no fixed name or host port, a stop grace that covers its shutdown, its journal on a volume', () => {
    expect(composeText).not.toMatch(/^\s+container_name:/m);
    const worker = serviceBlock('worker');
    expect(worker).not.toMatch(/^\s+ports:/m);
    // shutdownGraceTime (10 s) + yt-dlp's SIGTERM-to-SIGKILL (5 s) + the journal's last flush (5 s).
    const grace = /^\s+stop_grace_period: (\S+)\s*$/m.exec(worker)?.[1] ?? '0s';
    expect(durationSeconds(grace)).toBeGreaterThanOrEqual(30);
    expect(worker).toMatch(/^\s+MONITOR_JOURNAL_DIR: \/var\/lib\/mediadl\/attempts\s*$/m);
    expect(worker).toMatch(/^\s+- worker-journal:\/var\/lib\/mediadl\/attempts\s*$/m);
    // The hostname trade-off of the journal's takeover is written down beside it.
    expect(composeText).toMatch(/# .*takes over only the\n\s+# files of its own hostname/);
    expect(durationSeconds(/^\s+stop_grace_period: (\S+)\s*$/m.exec(serviceBlock('bot'))?.[1] ?? '0s')).toBeGreaterThan(30);
  });

  test('downloads and data live in named volumes', () => {
    expect(serviceBlock('worker')).toMatch(/^\s+- downloads:\/app\/downloads\s*$/m);
    expect(serviceBlock('bot')).toMatch(/^\s+- downloads:\/app\/downloads:ro\s*$/m);
    expect(serviceBlock('postgres')).toMatch(/^\s+- postgres-data:\/var\/lib\/postgresql\/data\s*$/m);
    expect(serviceBlock('redis')).toMatch(/^\s+- redis-data:\/data\s*$/m);
    const volumes = topBlock('volumes:');
    for (const name of ['postgres-data', 'redis-data', 'downloads', 'worker-journal'])
      expect(volumes).toMatch(new RegExp(`^ {2}${name}:\\s*$`, 'm'));
    // No host folder for downloads: one owned by root or another uid made the worker fail.
    expect(composeText).not.toMatch(/- \.\/downloads:/);
  });

  test('the HTTP API: published on 127.0.0.1 only, listening inside, with a healthcheck', () => {
    const api = serviceBlock('api');
    expect(api).toContain('- "127.0.0.1:${API_PORT:-8080}:8080"');
    expect(api).toMatch(/^\s+API_HOST: 0\.0\.0\.0\s*$/m);
    expect(api).toMatch(/^\s+API_PORT: "8080"\s*$/m);
    expect(api).toMatch(/healthcheck:\n\s+test:[\s\S]*127\.0\.0\.1:8080\/healthz/);
    // Every published port is bound to loopback.
    for (const [, published] of composeText.matchAll(/^\s+ports:\n\s+- "([^"]+)"/gm)) expect(published).toMatch(/^127\.0\.0\.1:/);
  });

  test('every container rotates its logs; the app containers cannot gain privileges', () => {
    expect(topBlock('x-logging: &logging')).toMatch(/max-size: 10m\n\s+max-file: "5"/);
    for (const name of EXPECTED_SERVICES) {
      const service = serviceBlock(name);
      const inherits = service.includes('<<: *app') || service.includes('<<: *temporal-job');
      expect({ name, logging: inherits || service.includes('logging: *logging') }).toEqual({ name, logging: true });
    }
    expect(topBlock('x-app: &app')).toContain('logging: *logging');
    expect(topBlock('x-temporal-job: &temporal-job')).toContain('logging: *logging');
    expect(topBlock('x-app: &app')).toMatch(/security_opt:\n\s+- no-new-privileges:true\n\s+cap_drop:\n\s+- ALL/);
  });

  test('healthchecks where something can answer, and every dependency waits for a condition', () => {
    for (const name of ['postgres', 'redis', 'temporal', 'worker', 'api']) expect(serviceBlock(name)).toMatch(/^\s+healthcheck:/m);
    // No bare list form of depends_on: each names what it waits for.
    expect(composeText).not.toMatch(/depends_on:\n\s+- /);
    const waits = topBlock('x-app-depends-on: &app-depends-on');
    expect(waits).toMatch(/redis:\n\s+condition: service_healthy/);
    expect(waits).toMatch(/migrate:\n\s+condition: service_completed_successfully/);
    expect(waits).toMatch(/temporal-search-attributes:\n\s+condition: service_completed_successfully/);
    for (const name of ['worker', 'bot', 'api']) expect(serviceBlock(name)).toContain('depends_on: *app-depends-on');
    expect(serviceBlock('migrate')).toMatch(/postgres:\n\s+condition: service_healthy/);
  });

  test('the app services point at the compose network and keep secrets in .env', () => {
    const app = topBlock('x-app: &app');
    expect(app).toMatch(/^\s+env_file: \.env\s*$/m);
    expect(app).toContain('DATABASE_URL: postgresql://postgres:postgres@postgres:5432/mediadl');
    expect(app).toContain('REDIS_URL: redis://redis:6379/0');
    expect(app).toContain('TEMPORAL_ADDRESS: temporal:7233');
    expect(app).toContain('TEMPORAL_NAMESPACE: ${TEMPORAL_NAMESPACE:-default}');
    expect(app).toContain('DOWNLOAD_DIR: /app/downloads');
    // The tokens and the admin list come from .env only; the file never sets them.
    expect(composeText).not.toMatch(/^\s*-?\s*(TELEGRAM_BOT_TOKEN|ADMIN_IDS|API_TOKEN)\s*[:=]/m);
  });
});

describe('the Temporal set-up scripts, against a stand-in temporal CLI', () => {
  /**
   * A `temporal` that keeps its state in files: `down` (calls left that fail as if the
   * server were not up), `namespace` (the retention, when it exists), `registered`
   * ("Name Type" lines), `create-fails` (search attribute creates left that fail),
   * `lag` (lists that do not show what is registered yet, as a stale cache would), and
   * `calls`, one line each.
   */
  const FAKE_TEMPORAL = String.raw`#!/bin/sh
state=$FAKE_TEMPORAL_STATE
echo "$*" >> "$state/calls"
take() { n=$(cat "$state/$1" 2>/dev/null || echo 0); [ "$n" -gt 0 ] && echo $((n - 1)) > "$state/$1" && return 0; return 1; }
if take down; then echo 'failed reaching server: connection refused' >&2; exit 1; fi
arg() { want=$1; shift; while [ $# -gt 0 ]; do [ "$1" = "$want" ] && { echo "$2"; return; }; shift; done; }
case "$1 $2 $3" in
  'operator cluster health') echo SERVING ;;
  'operator namespace describe') [ -f "$state/namespace" ] || { echo 'Namespace not found' >&2; exit 1; } ;;
  'operator namespace create')
    [ -f "$state/namespace" ] && { echo 'Namespace already exists' >&2; exit 1; }
    arg --retention "$@" > "$state/namespace" ;;
  'operator namespace update') arg --retention "$@" > "$state/namespace" ;;
  'operator search-attribute list')
    echo '  Name           Type'
    echo '  WorkflowId     Keyword'
    if [ -s "$state/registered" ] && take lag; then :; else sed 's/^/  /' "$state/registered" 2>/dev/null; fi ;;
  'operator search-attribute create')
    name=$(arg --name "$@"); type=$(arg --type "$@")
    have=$(awk -v n="$name" '$1 == n { print $2 }' "$state/registered" 2>/dev/null)
    if [ -n "$have" ] && [ "$have" != "$type" ]; then echo "search attribute $name already exists and has different type $have" >&2; exit 1; fi
    if take create-fails; then echo 'unable to add search attributes: context deadline exceeded' >&2; exit 1; fi
    [ -n "$have" ] || echo "$name $type" >> "$state/registered" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
`;

  let dir: string;
  let state: string;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'temporal-jobs-'));
    state = path.join(dir, 'state');
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.mkdirSync(state);
    fs.writeFileSync(path.join(dir, 'bin', 'temporal'), FAKE_TEMPORAL, { mode: 0o755 });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const put = (file: string, text: string) => fs.writeFileSync(path.join(state, file), text);
  const read = (file: string) => (fs.existsSync(path.join(state, file)) ? fs.readFileSync(path.join(state, file), 'utf8') : '');

  function runJob(script: string, env: Record<string, string>) {
    const result = spawnSync('sh', [path.join(COMPOSE_DIR, script)], {
      env: {
        PATH: `${path.join(dir, 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
        FAKE_TEMPORAL_STATE: state,
        TEMPORAL_ADDRESS: 'temporal:7233',
        NAMESPACE: 'default',
        SETUP_TRIES: '5',
        SETUP_PAUSE_SECONDS: '0',
        ...env,
      },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls: read('calls').trim().split('\n') };
  }

  const composeAttributes = /SEARCH_ATTRIBUTES: (.+)$/m.exec(serviceBlock('temporal-search-attributes'))?.[1].trim() ?? '';
  const registerAttributes = (attributes = composeAttributes) => runJob('temporal-search-attributes.sh', { SEARCH_ATTRIBUTES: attributes });

  test('the namespace job waits for the server, then creates the namespace with the retention', () => {
    put('down', '2');
    const run = runJob('temporal-namespace.sh', { RETENTION: '720h' });
    expect(run.status).toBe(0);
    expect(read('namespace').trim()).toBe('720h');
    expect(run.stdout).toContain('namespace default created with retention 720h');
  });

  test('the namespace job sets the retention of a namespace that exists (one made by auto-setup kept 24 h)', () => {
    put('namespace', '24h\n');
    const run = runJob('temporal-namespace.sh', { RETENTION: '720h' });
    expect(run.status).toBe(0);
    expect(read('namespace').trim()).toBe('720h');
  });

  test('the namespace job gives up, saying why, when the server never answers', () => {
    put('down', '1000');
    const run = runJob('temporal-namespace.sh', { RETENTION: '720h' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('did not become healthy');
  });

  test('registers every attribute, retrying while the server is not up', () => {
    put('down', '3');
    const run = registerAttributes();
    expect(run).toMatchObject({ status: 0, stderr: '' });
    expect(read('registered').trim().split('\n')).toEqual(composeAttributes.split(' ').map((a) => a.replace('=', ' ')));
  });

  test('an attribute already there with the same type is success, and a re-run creates nothing', () => {
    expect(registerAttributes().status).toBe(0);
    fs.rmSync(path.join(state, 'calls'));
    const again = registerAttributes();
    expect(again.status).toBe(0);
    expect(again.calls.filter((call) => call.includes('search-attribute create'))).toEqual([]);
  });

  test('an attribute already there with another type is an error at once, whoever registered it first', () => {
    put('registered', 'RequestedBy Keyword\n');
    const listed = registerAttributes('DownloadState=Keyword RequestedBy=KeywordList');
    expect(listed.status).toBe(1);
    expect(listed.stderr).toContain('RequestedBy already exists with type Keyword, but the workflows set it as KeywordList');
    expect(listed.calls.filter((call) => call.includes('--name RequestedBy'))).toEqual([]);

    // Registered by someone else between our look at the list and our create.
    fs.rmSync(path.join(state, 'registered'));
    put('lag', '1');
    put('registered', 'Platform Text\n');
    const raced = registerAttributes('Platform=Keyword');
    expect(raced.status).toBe(1);
    expect(raced.stderr).toContain('already exists and has different type Text');
  });

  test('a create that fails or is not listed yet is retried until the list shows it', () => {
    put('create-fails', '1');
    put('lag', '2');
    const run = registerAttributes('ContentKey=Keyword');
    expect(run.status).toBe(0);
    expect(read('registered')).toBe('ContentKey Keyword\n');
    // Failed, created, then twice created again (a no-op) while the list lagged behind.
    expect(run.calls.filter((call) => call.includes('search-attribute create'))).toHaveLength(4);
  });

  test('a create that keeps failing fails the job after SETUP_TRIES, with the last error', () => {
    put('create-fails', '1000');
    const run = registerAttributes('ContentKey=Keyword');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('could not register search attribute ContentKey (Keyword) after 5 tries');
    expect(run.stderr).toContain('context deadline exceeded');
    expect(run.calls.filter((call) => call.includes('search-attribute create'))).toHaveLength(5);
  });

  test('the scripts are valid POSIX sh, as the admin-tools image (Alpine, busybox) runs them', () => {
    for (const script of fs.readdirSync(COMPOSE_DIR).filter((name) => name.endsWith('.sh'))) {
      const check = spawnSync('sh', ['-n', path.join(COMPOSE_DIR, script)], { encoding: 'utf8' });
      expect({ script, status: check.status, stderr: check.stderr }).toEqual({ script, status: 0, stderr: '' });
      expect(composeText).toContain(`command: ["/deploy/${script}"]`);
    }
  });
});

describe('Dockerfile', () => {
  test('builds on a current Node LTS with glibc (Debian bookworm), never Alpine', () => {
    const from = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(from).toEqual([expect.stringMatching(/^node:(22|24)-bookworm(-slim)?$/)]);
  });

  test('installs exactly the locked dependencies, without dev dependencies', () => {
    expect(dockerfile).toMatch(/^COPY --chown=node:node package\.json package-lock\.json \.\/$/m);
    expect(dockerfile).toMatch(/\bnpm ci --omit=dev\b/);
    expect(dockerfile).not.toMatch(/\bnpm (install|i)\b/);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    // What the containers run needs these at run time, so --omit=dev must keep them.
    for (const runtime of ['tsx', 'prisma']) expect(Object.keys(pkg.dependencies)).toContain(runtime);
  });

  test('package-lock.json satisfies the npm ci of the image’s Node (npm 11, from Node 24 on, wants every optional package locked)', () => {
    const nodeMajor = Number(/^FROM node:(\d+)-/m.exec(dockerfile)?.[1]);
    type Entry = { optionalDependencies?: Record<string, string> };
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, Entry> };
    const resolves = (from: string, name: string): boolean => {
      // Node's lookup: node_modules next to the package, then in each enclosing package, then the root.
      for (let at = from; ;) {
        if (`${at ? `${at}/` : ''}node_modules/${name}` in lock.packages) return true;
        if (!at) return false;
        const cut = at.lastIndexOf('node_modules/');
        at = cut <= 0 ? '' : at.slice(0, cut - 1);
      }
    };
    const missing = Object.entries(lock.packages).flatMap(([at, entry]) =>
      Object.keys(entry.optionalDependencies ?? {})
        .filter((name) => !resolves(at, name))
        .map((name) => `${name} (of ${at || 'the root'})`),
    );
    // Node 22 ships npm 10, whose npm ci installs such a lock as it is.
    if (nodeMajor >= 24) expect(missing).toEqual([]);
    else expect(nodeMajor).toBe(22);
  });

  test('runs a current yt-dlp, pinned, with ffmpeg; not Debian bookworm’s own', () => {
    expect(dockerfile).toMatch(/^ARG YTDLP_VERSION=20\d\d\.\d\d\.\d\d$/m);
    expect(dockerfile).toContain('pip install --no-cache-dir --disable-pip-version-check "yt-dlp[default]==${YTDLP_VERSION}"');
    // First on PATH, so YTDLP_PATH=yt-dlp (the default, and .env.example's value) finds it.
    expect(dockerfile).toMatch(/^ENV PATH=\/opt\/yt-dlp\/bin:\$PATH$/m);
    expect(dockerfile).toMatch(/apt-get install [^\n]*\bffmpeg\b/);
    expect(dockerfile).not.toMatch(/apt-get install(?![^\n]*-t bookworm-backports)[^\n]*\byt-dlp\b/);
  });

  test('runs node itself as uid 1000, with the worker by default', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/^CMD \["node", "--import", "tsx", "workers\/main\.ts"\]$/m);
    expect(dockerfile).not.toMatch(/^(CMD|ENTRYPOINT).*\b(npx|npm)\b/m);
    // The folders the named volumes mount on belong to that user, so the volumes do too.
    expect(dockerfile).toMatch(/install -d -o node -g node \/app\/downloads/);
    expect(dockerfile).toMatch(/install -d -o node -g node -m 0700 \/var\/lib\/mediadl \/var\/lib\/mediadl\/attempts/);
  });
});

describe('.dockerignore', () => {
  const ignored = fs
    .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  test('keeps secrets, local state, logs, tests and installed modules out of the build context', () => {
    for (const entry of [
      '.env',
      '.env.*',
      '.setup-stamps',
      '**/*.log',
      'test',
      'test-artifacts',
      'bench/results',
      '.data',
      'downloads',
      'coverage',
      'node_modules',
      '.git',
      'lib/generated',
    ]) {
      expect(ignored).toContain(entry);
    }
    // The example holds no secret, and the app's error messages point to it.
    expect(ignored.indexOf('!.env.example')).toBeGreaterThan(ignored.indexOf('.env.*'));
  });
});
