import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ageInDays, featuresFromHelp, probeYtDlp, releaseDate, STALE_AFTER_DAYS, versionWarnings } from '../../activities/ytdlp-install';

const NOW = new Date('2026-11-23T12:00:00Z');

describe('featuresFromHelp', () => {
  test('reads the options a yt-dlp offers from its --help text', () => {
    const current =
      '    --no-quiet                      Deactivate quiet mode. (Default)\n    --js-runtimes RUNTIME[:PATH]    Additional JavaScript runtime...\n';
    expect(featuresFromHelp(current)).toEqual({ jsRuntimes: true, noQuiet: true });
    const bookworm = '    -q, --quiet                     Activate quiet mode\n    --no-warnings                   Ignore warnings\n';
    expect(featuresFromHelp(bookworm)).toEqual({ jsRuntimes: false, noQuiet: false });
  });

  test("a mention inside another option's description is not the option", () => {
    expect(featuresFromHelp('    --foo   see also--js-runtimes-like things\n').jsRuntimes).toBe(false);
  });
});

describe('version age', () => {
  test('yt-dlp versions are release dates', () => {
    expect(releaseDate('2025.04.30')).toEqual(new Date(Date.UTC(2025, 3, 30)));
    expect(releaseDate('2025.11.12.1')).toEqual(new Date(Date.UTC(2025, 10, 12)));
    expect(releaseDate('git-abc')).toBeNull();
    expect(ageInDays('2026.11.20', NOW)).toBe(3);
  });

  test('a current version has no warnings', () => {
    expect(versionWarnings('2026.11.01', NOW)).toEqual([]);
  });

  test(`a version older than ${STALE_AFTER_DAYS} days is called stale`, () => {
    const [warning] = versionWarnings('2025.04.30', NOW);
    expect(warning).toMatch(/^yt-dlp 2025\.04\.30 is 572 days old; .*YTDLP_PATH/);
  });

  test("Debian bookworm's 2023.03.04 is also named as predating the CVE-2024-38519 fix", () => {
    const warnings = versionWarnings('2023.03.04', NOW);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('CVE-2024-38519');
  });

  test('a version that is not a date is reported as such', () => {
    expect(versionWarnings('nightly', NOW)[0]).toContain('not a release date');
  });
});

describe('probeYtDlp on real executables', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-probe-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function fakeYtDlp(name: string, version: string, help: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `#!/bin/sh\nif [ "$1" = "--version" ]; then echo "${version}"; else printf '%s\\n' "${help}"; fi\n`, {
      mode: 0o755,
    });
    return file;
  }

  test('reads the version and the features of a current yt-dlp', async () => {
    const file = fakeYtDlp('current', '2026.11.01', '    --no-quiet   x\n    --js-runtimes RUNTIME[:PATH]   y');
    expect(await probeYtDlp(file)).toEqual({ executable: file, version: '2026.11.01', features: { jsRuntimes: true, noQuiet: true } });
  });

  test('the installed yt-dlp answers too', async () => {
    const probed = await probeYtDlp('yt-dlp');
    expect(probed?.version).toMatch(/^\d{4}\.\d{2}\.\d{2}/);
  });

  test('a path that is not an executable gives null', async () => {
    expect(await probeYtDlp(path.join(dir, 'missing'))).toBeNull();
  });
});
