// The systemd units in deploy/systemd: checked by systemd's own parser
// (`systemd-analyze verify`), installed into a scratch root with `systemctl --root`
// (what `systemctl enable` would link), and read for the settings the deployment
// relies on (user, environment files, restart, stop timeout, hardening).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const UNIT_DIR = path.join(ROOT, 'deploy', 'systemd');
const INSTALL_DIR = '/opt/mediadl';
const NODE = '/usr/bin/node';

const SERVICES = ['mediadl-bot.service', 'mediadl-api.service', 'mediadl-worker@.service'] as const;
const TARGET = 'mediadl.target';
const WORKER = 'mediadl-worker@.service';
const ENTRY_POINTS: Record<(typeof SERVICES)[number], string> = {
  'mediadl-bot.service': 'bot/main.ts',
  'mediadl-api.service': 'api/main.ts',
  'mediadl-worker@.service': 'workers/main.ts',
};

/** Settings every service must carry, with the value it must have. */
const HARDENING: Record<string, string> = {
  NoNewPrivileges: 'yes',
  ProtectSystem: 'strict',
  PrivateTmp: 'yes',
  ProtectHome: 'yes',
  ProtectKernelTunables: 'yes',
  ProtectKernelModules: 'yes',
  ProtectKernelLogs: 'yes',
  ProtectControlGroups: 'yes',
  RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
  RestrictNamespaces: 'yes',
  LockPersonality: 'yes',
  RestrictRealtime: 'yes',
  SystemCallArchitectures: 'native',
  CapabilityBoundingSet: '',
  UMask: '0027',
};

type Unit = Map<string, Array<[key: string, value: string]>>;

/** Sections of a unit file with their assignments in order (comments and blank lines dropped, continuations joined). */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      if (!unit.has(section)) unit.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`not an assignment: ${line}`);
    unit.get(section)?.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

/** The value in effect for a single-valued setting (the last assignment wins, as in systemd). */
function value(unit: Unit, section: string, key: string): string | undefined {
  return values(unit, section, key).at(-1);
}

/** Space-separated list settings such as After= and Wants=, all assignments together. */
function list(unit: Unit, section: string, key: string): string[] {
  return values(unit, section, key).flatMap((v) => v.split(/\s+/).filter(Boolean));
}

function read(name: string): string {
  return fs.readFileSync(path.join(UNIT_DIR, name), 'utf8');
}

const units = new Map<string, Unit>([...SERVICES, TARGET].map((name) => [name, parseUnit(read(name))]));
function unit(name: string): Unit {
  const parsed = units.get(name);
  if (!parsed) throw new Error(`unit ${name} not parsed`);
  return parsed;
}

function findTool(name: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(path.delimiter), '/usr/bin', '/bin', '/usr/sbin', '/sbin']) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    `${name} was not found: the deploy/systemd units are checked with systemd's own tools. ` +
      'Install systemd (Debian: sudo apt-get install systemd) and run the test again.',
  );
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; output: string } {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '', LC_ALL: 'C', ...env },
  });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** A span such as `60s` or `1min 30s` in seconds, as systemd reads it. */
function seconds(analyze: string, span: string): number {
  const { status, output } = run(analyze, ['timespan', span]);
  const match = /(?:μs|us):\s*(\d+)/.exec(output);
  if (status !== 0 || !match) throw new Error(`systemd-analyze cannot read the time span ${span}: ${output}`);
  return Number(match[1]) / 1e6;
}

/**
 * Copies of the units in a scratch folder, with the install folder and node pointed at
 * this checkout and this node: `verify` checks that ExecStart's program exists.
 */
function scratchCopies(dir: string, extra: Record<string, string> = {}): void {
  for (const name of [...SERVICES, TARGET]) {
    const text = read(name).replaceAll(INSTALL_DIR, ROOT).replaceAll(NODE, process.execPath);
    fs.writeFileSync(path.join(dir, name), text);
  }
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), text);
}

describe('deploy/systemd units', () => {
  const analyze = findTool('systemd-analyze');
  let scratch: string;

  beforeAll(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'systemd-units-'));
  });
  afterAll(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  test('systemd-analyze verify reports nothing about them', () => {
    const dir = fs.mkdtempSync(path.join(scratch, 'verify-'));
    // A broken copy proves the check reads our files and reports what it finds.
    const broken = read('mediadl-api.service').replace('[Service]', '[Service]\nNoSuchSetting=1');
    scratchCopies(dir, { 'mediadl-broken.service': broken.replaceAll(NODE, process.execPath) });
    const targets = [
      'mediadl-bot.service',
      'mediadl-api.service',
      'mediadl-worker@1.service',
      'mediadl-worker@2.service',
      'mediadl-worker@.service',
      TARGET,
    ];
    const { status, output } = run(analyze, ['verify', '--man=no', '--generators=no', ...targets.map((t) => path.join(dir, t))], {
      // Units they name (mediadl.target, an instance's template) are found in the scratch folder too.
      SYSTEMD_UNIT_PATH: `${dir}:`,
    });
    // Lines about system units of this machine (network-online.target, postgresql.service,
    // which verify also loads) are not ours, and may make it exit non-zero on their own.
    const ours = output.split('\n').filter((line) => /mediadl/.test(line));
    expect(ours).toEqual([]);
    if (status !== 0 && output.trim() === '') throw new Error(`systemd-analyze verify failed (exit ${status}) without a word`);

    const check = run(analyze, ['verify', '--man=no', '--generators=no', path.join(dir, 'mediadl-broken.service')]);
    expect(check.output).toMatch(/mediadl-broken\.service:\d+: Unknown key( name)? 'NoSuchSetting'/);
  });

  test('systemctl enable mediadl.target enables the bot, the API and worker 1; more workers join the target', () => {
    const systemctl = findTool('systemctl');
    const root = fs.mkdtempSync(path.join(scratch, 'root-'));
    const unitDir = path.join(root, 'etc', 'systemd', 'system');
    fs.mkdirSync(unitDir, { recursive: true });
    for (const name of [...SERVICES, TARGET]) fs.copyFileSync(path.join(UNIT_DIR, name), path.join(unitDir, name));
    const links = () =>
      ['multi-user.target.wants', 'mediadl.target.wants'].flatMap((d) =>
        fs.existsSync(path.join(unitDir, d)) ? fs.readdirSync(path.join(unitDir, d)).map((f) => `${d}/${f}`) : [],
      );

    const enable = run(systemctl, [`--root=${root}`, 'enable', TARGET]);
    expect(enable.status).toBe(0);
    expect(links().sort()).toEqual(
      [
        'multi-user.target.wants/mediadl.target',
        'mediadl.target.wants/mediadl-api.service',
        'mediadl.target.wants/mediadl-bot.service',
        'mediadl.target.wants/mediadl-worker@1.service',
      ].sort(),
    );
    expect(run(systemctl, [`--root=${root}`, 'enable', 'mediadl-worker@2.service']).status).toBe(0);
    expect(links()).toContain('mediadl.target.wants/mediadl-worker@2.service');
    expect(run(systemctl, [`--root=${root}`, 'disable', 'mediadl-worker@2.service']).status).toBe(0);
    expect(links()).not.toContain('mediadl.target.wants/mediadl-worker@2.service');
  });

  test.each(SERVICES)('%s runs node with tsx on its entry point as the mediadl user, with the shared environment file', (name) => {
    const u = unit(name);
    expect(value(u, 'Service', 'User')).toBe('mediadl');
    expect(value(u, 'Service', 'Group')).toBe('mediadl');
    expect(value(u, 'Service', 'WorkingDirectory')).toBe(INSTALL_DIR);
    expect(values(u, 'Service', 'EnvironmentFile')[0]).toBe('/etc/mediadl/mediadl.env');

    const loader = `${INSTALL_DIR}/node_modules/tsx/dist/loader.mjs`;
    const script = `${INSTALL_DIR}/${ENTRY_POINTS[name]}`;
    expect(value(u, 'Service', 'ExecStart')).toBe(`${NODE} --import ${loader} ${script}`);
    // What ExecStart names exists in a checkout, and survives `npm ci --omit=dev`.
    expect(fs.existsSync(path.join(ROOT, path.relative(INSTALL_DIR, loader)))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, path.relative(INSTALL_DIR, script)))).toBe(true);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    expect(Object.keys(pkg.dependencies ?? {})).toContain('tsx');
  });

  test.each(SERVICES)('%s restarts on failure and stops with SIGTERM', (name) => {
    const u = unit(name);
    expect(value(u, 'Service', 'Restart')).toBe('on-failure');
    expect(seconds(analyze, value(u, 'Service', 'RestartSec') ?? '')).toBeGreaterThan(0);
    expect(value(u, 'Service', 'KillSignal')).toBe('SIGTERM');
    expect(seconds(analyze, value(u, 'Service', 'TimeoutStopSec') ?? '')).toBeGreaterThanOrEqual(15);
  });

  test.each(SERVICES)('%s starts after the network and the local databases without requiring them, and belongs to the target', (name) => {
    const u = unit(name);
    expect(list(u, 'Unit', 'Wants')).toEqual(['network-online.target']);
    expect(list(u, 'Unit', 'After')).toEqual(
      expect.arrayContaining(['network-online.target', 'postgresql.service', 'redis-server.service']),
    );
    expect(list(u, 'Unit', 'Requires')).toEqual([]);
    expect(list(u, 'Unit', 'BindsTo')).toEqual([]);
    expect(list(u, 'Unit', 'PartOf')).toEqual([TARGET]);
    expect(list(u, 'Install', 'WantedBy')).toEqual([TARGET]);
  });

  test.each(SERVICES)('%s is hardened (and leaves W+X memory to V8)', (name) => {
    const u = unit(name);
    const actual = Object.fromEntries(Object.keys(HARDENING).map((key) => [key, value(u, 'Service', key)]));
    expect(actual).toEqual(HARDENING);
    // node's JIT needs writable and executable memory: MemoryDenyWriteExecute=yes would kill it.
    expect(values(u, 'Service', 'MemoryDenyWriteExecute')).toEqual([]);
    expect(read(name)).toMatch(/#.*MemoryDenyWriteExecute.*JIT/);
  });

  test('the worker outlasts its shutdown: 10 s grace for downloads plus 5 s for yt-dlp, and yt-dlp is stopped by the worker', () => {
    const u = unit(WORKER);
    expect(seconds(analyze, value(u, 'Service', 'TimeoutStopSec') ?? '')).toBeGreaterThan(15);
    // SIGTERM to the worker alone; it stops yt-dlp and ffmpeg itself, systemd only SIGKILLs leftovers.
    expect(value(u, 'Service', 'KillMode')).toBe('mixed');
  });

  test('the bot outlasts its 30 s wait for the updates in hand', () => {
    expect(seconds(analyze, value(unit('mediadl-bot.service'), 'Service', 'TimeoutStopSec') ?? '')).toBeGreaterThan(30);
  });

  test('each worker instance may have its own environment file, read after the shared one', () => {
    const u = unit(WORKER);
    expect(values(u, 'Service', 'EnvironmentFile')).toEqual(['/etc/mediadl/mediadl.env', '-/etc/mediadl/worker-%i.env']);
  });

  test('the worker may write only the downloads, its state (the attempt journal) and its cache', () => {
    const u = unit(WORKER);
    expect(list(u, 'Service', 'ReadWritePaths')).toEqual(['/srv/mediadl/downloads']);
    expect(value(u, 'Service', 'StateDirectory')).toBe('mediadl');
    expect(value(u, 'Service', 'CacheDirectory')).toBe('mediadl');
    const env = Object.fromEntries(values(u, 'Service', 'Environment').map((v) => v.split(/=(.*)/s).slice(0, 2)));
    expect(env).toMatchObject({
      DOWNLOAD_DIR: '/srv/mediadl/downloads',
      MONITOR_JOURNAL_DIR: '/var/lib/mediadl/attempts',
      XDG_CACHE_HOME: '/var/cache/mediadl',
    });
    // The bot and the API write no files.
    for (const name of ['mediadl-bot.service', 'mediadl-api.service']) {
      expect(values(unit(name), 'Service', 'ReadWritePaths')).toEqual([]);
      expect(values(unit(name), 'Service', 'StateDirectory')).toEqual([]);
    }
  });

  test('mediadl.target starts with the machine and brings the bot, the API and one worker along', () => {
    const u = unit(TARGET);
    expect(list(u, 'Install', 'WantedBy')).toEqual(['multi-user.target']);
    expect(list(u, 'Install', 'Also').sort()).toEqual(['mediadl-api.service', 'mediadl-bot.service', 'mediadl-worker@1.service']);
  });
});
