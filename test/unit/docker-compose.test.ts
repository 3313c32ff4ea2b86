import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SEARCH_ATTRIBUTE_REGISTRATIONS } from '../../domain/downloads/definitions';

const ROOT = path.resolve(__dirname, '..', '..');
const composeText = fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8');

const EXPECTED_SERVICES = ['postgres', 'redis', 'temporal', 'temporal-admin-tools', 'temporal-ui', 'migrate', 'worker', 'bot'];

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

/** The block of lines belonging to one service. */
function serviceBlock(text: string, name: string): string {
  const lines = text.split(/\r?\n/);
  const start = lines.findIndex((line) => line === `  ${name}:`);
  if (start < 0) return '';
  const end = lines.findIndex((line, i) => i > start && (/^ {2}[A-Za-z0-9._-]+:\s*$/.test(line) || /^\S/.test(line)));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
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

/**
 * docker-compose 1.29 refuses a file whose `env_file` is missing, so validation runs
 * in a scratch directory holding the compose file, the Dockerfile and a `.env`
 * copied from `.env.example`. Nothing is written into the repository.
 */
function composeInScratchDir(binary: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-check-'));
  try {
    fs.copyFileSync(path.join(ROOT, 'docker-compose.yml'), path.join(dir, 'docker-compose.yml'));
    fs.copyFileSync(path.join(ROOT, 'Dockerfile'), path.join(dir, 'Dockerfile'));
    fs.copyFileSync(path.join(ROOT, '.env.example'), path.join(dir, '.env'));
    const env = { ...process.env };
    // Settings from the caller's shell must not change what is being validated.
    for (const key of Object.keys(env)) if (key.startsWith('COMPOSE_')) delete env[key];
    const result = spawnSync(binary, ['-f', path.join(dir, 'docker-compose.yml'), ...args], {
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
  test('declares the whole stack, and docker-compose accepts it when installed', () => {
    expect(declaredServices(composeText).sort()).toEqual([...EXPECTED_SERVICES].sort());

    const binary = findOnPath('docker-compose');
    if (binary) {
      const check = composeInScratchDir(binary, ['config', '-q']);
      expect({ status: check.status, stderr: check.status === 0 ? '' : check.stderr }).toEqual({ status: 0, stderr: '' });

      const services = composeInScratchDir(binary, ['config', '--services']);
      expect(services.status).toBe(0);
      expect(services.stdout.split(/\s+/).filter(Boolean).sort()).toEqual([...EXPECTED_SERVICES].sort());
    }
  });

  test('uses the official images, Temporal pinned to a 1.2x release', () => {
    expect(serviceBlock(composeText, 'postgres')).toMatch(/^\s+image: postgres:16\s*$/m);
    expect(serviceBlock(composeText, 'redis')).toMatch(/^\s+image: redis:7\s*$/m);
    expect(serviceBlock(composeText, 'temporal')).toMatch(/^\s+image: temporalio\/auto-setup:1\.2\d\.\d+\s*$/m);
    expect(serviceBlock(composeText, 'temporal-admin-tools')).toMatch(/^\s+image: temporalio\/admin-tools:1\.2\d\.\S+\s*$/m);
    expect(serviceBlock(composeText, 'temporal-ui')).toMatch(/^\s+image: temporalio\/ui:\d+\.\d+\.\d+\s*$/m);
    expect(serviceBlock(composeText, 'temporal-ui')).toMatch(/8233\}?:8080/);
  });

  test('registers exactly the search attributes the workflows use', () => {
    const block = serviceBlock(composeText, 'temporal-admin-tools');
    expect(block).toContain('temporal operator search-attribute create --address temporal:7233');
    expect(block).toMatch(/already exists/);
    const listed = /for attribute in ([^;]+);/.exec(block)?.[1].trim().split(/\s+/) ?? [];
    expect(listed).toEqual(SEARCH_ATTRIBUTE_REGISTRATIONS.map(({ name, type }) => `${name}=${type}`));
  });

  test('the app services point at the compose network and keep secrets in .env', () => {
    for (const name of ['worker', 'bot', 'migrate']) {
      expect(serviceBlock(composeText, name)).toContain('<<: *app');
    }
    expect(composeText).toMatch(/^\s+env_file: \.env\s*$/m);
    expect(composeText).toContain('DATABASE_URL: postgresql://postgres:postgres@postgres:5432/mediadl');
    expect(composeText).toContain('REDIS_URL: redis://redis:6379/0');
    expect(composeText).toContain('TEMPORAL_ADDRESS: temporal:7233');
    expect(composeText).toContain('DOWNLOAD_DIR: /app/downloads');
    expect(serviceBlock(composeText, 'worker')).toMatch(/- \.\/downloads:\/app\/downloads\s*$/m);
    expect(serviceBlock(composeText, 'bot')).toMatch(/- \.\/downloads:\/app\/downloads:ro\s*$/m);
    // The token and the admin list come from .env only; the file never sets them.
    expect(composeText).not.toMatch(/^\s*-?\s*(TELEGRAM_BOT_TOKEN|ADMIN_IDS)\s*[:=]/m);
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

  test('installs yt-dlp from bookworm-backports on a bookworm image, as setup does', () => {
    expect(dockerfile).toMatch(/^FROM node:\d+-bookworm/m);
    expect(dockerfile).toContain('Suites: bookworm-backports');
    expect(dockerfile).toMatch(/apt-get install [^\n]*-t bookworm-backports yt-dlp/);
    // ...and never bookworm's own, older one through the ordinary install line.
    expect(dockerfile).not.toMatch(/apt-get install(?![^\n]*-t bookworm-backports)[^\n]*\byt-dlp\b/);
  });
});
