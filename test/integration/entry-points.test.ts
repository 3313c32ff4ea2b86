import { spawnSync } from 'node:child_process';
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
  for (const name of ['TELEGRAM_BOT_TOKEN', 'ADMIN_IDS is required', 'MAX_CONCURRENT', 'DATABASE_URL', 'LOG_LEVEL']) {
    expect(output).toContain(name);
  }
  expect(output).toContain('See .env.example');
  expect(output).not.toContain(SECRET.replace(':', ''));
  expect(output).not.toMatch(/\n\s+at /); // no stack trace
});
