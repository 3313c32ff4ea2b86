import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The real entry points, started the way `npm run worker` / `npm run bot` start
 * them: a bad configuration stops them with one readable message listing every
 * problem, and the token never appears in it.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const SECRET = '987654321:THIS-is-a-secret-token-value-xyz';

function run(entry: string, env: Record<string, string>) {
  // Only what the test passes: no .env from the developer's checkout, no inherited settings.
  const result = spawnSync(process.execPath, [TSX, entry], {
    cwd: path.join(ROOT, 'test'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

test.each(['workers/main.ts', 'bot/main.ts'])('%s exits with one message listing every configuration problem', (entry) => {
  const { code, output } = run(path.join(ROOT, entry), {
    TELEGRAM_BOT_TOKEN: `${SECRET} `.replace(':', ''), // malformed, and secret-looking
    MAX_CONCURRENT: 'many',
    DATABASE_URL: 'mysql://nope',
    LOG_LEVEL: 'loud',
  });
  expect(code).toBe(1);
  expect(output).toMatch(/^Invalid configuration:/);
  for (const name of ['TELEGRAM_BOT_TOKEN', 'MAX_CONCURRENT', 'DATABASE_URL', 'LOG_LEVEL']) {
    expect(output).toContain(name);
  }
  // Owners are the bot's business: the worker runs without them (and without a token).
  if (entry === 'bot/main.ts') expect(output).toContain('ADMIN_IDS is required');
  else expect(output).not.toContain('ADMIN_IDS');
  expect(output).toContain('See .env.example');
  expect(output).not.toContain(SECRET.replace(':', ''));
  expect(output).not.toMatch(/\n\s+at /); // no stack trace
});

describe('the worker checks its download settings before it takes work', () => {
  const valid = { TELEGRAM_BOT_TOKEN: SECRET, ADMIN_IDS: '1' };

  test('a COOKIES_FILE that does not exist, or is not a cookies file, stops it with one clear line', () => {
    const missing = run(path.join(ROOT, 'workers/main.ts'), { ...valid, COOKIES_FILE: '/nonexistent/cookies.txt' });
    expect(missing.code).toBe(1);
    expect(missing.output).toBe('worker failed: COOKIES_FILE (/nonexistent/cookies.txt) cannot be read: it does not exist\n');
    const notCookies = run(path.join(ROOT, 'workers/main.ts'), { ...valid, COOKIES_FILE: path.join(ROOT, 'package.json') });
    expect(notCookies.code).toBe(1);
    expect(notCookies.output).toContain('is not a Netscape cookies file');
  });

  test('USE_ARIA2C=true without aria2c on PATH stops it naming the package', () => {
    // A PATH with node only: no aria2c on it, whatever this machine has installed.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-path-'));
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const { code, output } = run(path.join(ROOT, 'workers/main.ts'), { ...valid, USE_ARIA2C: 'true', PATH: bin });
    fs.rmSync(bin, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(output).toContain('USE_ARIA2C=true but aria2c is not installed (Debian package aria2');
  });
});
