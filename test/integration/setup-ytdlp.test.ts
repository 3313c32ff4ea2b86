import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIRST_SAFE_EXTENSIONS_RELEASE, probeYtDlp } from '../../activities/ytdlp-install';

/**
 * The yt-dlp step of `npm run setup`, run as setup runs it. With YTDLP_PATH set
 * it only checks the named yt-dlp; without it, on this machine, it finds the
 * yt-dlp setup installed (Debian 12: from bookworm-backports) current enough.
 */

const ROOT = path.resolve(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-setup-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function setupStep(env: Record<string, string>) {
  const result = spawnSync(process.execPath, [TSX, path.join(ROOT, 'scripts', 'setup-ytdlp.ts')], {
    cwd: dir, // no developer .env
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

test('YTDLP_PATH naming an old yt-dlp: checked and warned about, the Debian package untouched', () => {
  const old = path.join(dir, 'old-yt-dlp');
  fs.writeFileSync(old, '#!/bin/sh\necho 2023.03.04\n', { mode: 0o755 });
  const { code, output } = setupStep({ YTDLP_PATH: old });
  expect(code).toBe(0);
  expect(output).toContain(`setup: yt-dlp 2023.03.04 at ${old} (YTDLP_PATH); the Debian package is left alone`);
  expect(output).toMatch(/warning: .*CVE-2024-38519/);
  expect(output).toMatch(/warning: yt-dlp 2023\.03\.04 is \d+ days old/);
  expect(output).not.toContain('installing');
});

test('YTDLP_PATH naming nothing stops setup with a clear message', () => {
  const { code, output } = setupStep({ YTDLP_PATH: path.join(dir, 'missing') });
  expect(code).toBe(1);
  expect(output).toContain('YTDLP_PATH is set to');
  expect(output).toContain('which is not an executable');
});

test('the yt-dlp setup leaves on this machine has the fix for unsafe file extensions, and a second run changes nothing', async () => {
  const installed = await probeYtDlp('yt-dlp');
  expect(installed).not.toBeNull();
  expect(installed!.version >= FIRST_SAFE_EXTENSIONS_RELEASE).toBe(true);
  const { code, output } = setupStep({});
  expect(code).toBe(0);
  expect(output).toContain(`setup: yt-dlp ${installed!.version} at ${installed!.executable}`);
  expect(output).not.toContain('installing');
});
