import { planYtDlpSetup, type SetupFacts } from '../../scripts/setup-ytdlp';

const BOOKWORM = { id: 'debian', versionId: '12', codename: 'bookworm' };
const TRIXIE = { id: 'debian', versionId: '13', codename: 'trixie' };
const base: SetupFacts = { ytDlp: null, ffmpeg: true, os: BOOKWORM, canInstall: true, backportsSourcePresent: false };
const debianYtDlp = (version: string) => ({ path: '/usr/bin/yt-dlp', version, debianPackage: true });

describe('what setup does about yt-dlp and ffmpeg', () => {
  test('Debian 12 without yt-dlp: adds bookworm-backports and installs yt-dlp from it', () => {
    expect(planYtDlpSetup(base).actions).toEqual([
      { kind: 'add-backports-source', codename: 'bookworm' },
      { kind: 'apt-install', packages: ['yt-dlp'], fromBackports: true },
    ]);
  });

  test("Debian 12 with bookworm's own 2023.03.04: upgrades it from backports, using a source already there", () => {
    const plan = planYtDlpSetup({ ...base, ytDlp: debianYtDlp('2023.03.04'), backportsSourcePresent: true });
    expect(plan.actions).toEqual([{ kind: 'apt-install', packages: ['yt-dlp'], fromBackports: true }]);
    expect(plan.notes[0]).toMatch(/2023\.03\.04 is too old/);
  });

  test('newer Debian: yt-dlp and ffmpeg from the main suite', () => {
    expect(planYtDlpSetup({ ...base, os: TRIXIE, ffmpeg: false }).actions).toEqual([
      { kind: 'apt-install', packages: ['yt-dlp', 'ffmpeg'], fromBackports: false },
    ]);
  });

  test('a current enough Debian yt-dlp is left alone, with a warning when it is old', () => {
    const plan = planYtDlpSetup({ ...base, ytDlp: debianYtDlp('2025.04.30') });
    expect(plan.actions).toEqual([]);
    expect(plan.notes.some((n) => /^warning: yt-dlp 2025\.04\.30 is \d+ days old/.test(n))).toBe(true);
  });

  test('YTDLP_PATH is honoured: the Debian package is not touched, however old the named yt-dlp', () => {
    const plan = planYtDlpSetup({
      ...base,
      ytDlpPathSetting: '/opt/yt-dlp/yt-dlp',
      ytDlp: { path: '/opt/yt-dlp/yt-dlp', version: '2023.01.06', debianPackage: false },
    });
    expect(plan.actions).toEqual([]);
    expect(plan.notes[0]).toBe('yt-dlp 2023.01.06 at /opt/yt-dlp/yt-dlp (YTDLP_PATH); the Debian package is left alone');
    expect(plan.notes.filter((n) => n.startsWith('warning:'))).toHaveLength(2);
  });

  test('YTDLP_PATH naming nothing runnable stops setup with a clear message', () => {
    expect(planYtDlpSetup({ ...base, ytDlpPathSetting: '/nowhere/yt-dlp' }).error).toBe(
      "YTDLP_PATH is set to /nowhere/yt-dlp, which is not an executable. Fix YTDLP_PATH or unset it to use Debian's yt-dlp.",
    );
  });

  test('an old yt-dlp that Debian does not own (pip, a download) is not replaced, only warned about', () => {
    const plan = planYtDlpSetup({ ...base, ytDlp: { path: '/usr/local/bin/yt-dlp', version: '2023.03.04', debianPackage: false } });
    expect(plan.actions).toEqual([]);
    expect(plan.notes.some((n) => n.includes('CVE-2024-38519'))).toBe(true);
  });

  test('without root or apt-get it names the command to run instead', () => {
    const plan = planYtDlpSetup({ ...base, canInstall: false, ffmpeg: false });
    expect(plan.error).toMatch(/yt-dlp and ffmpeg not installed .*sudo apt-get install -y -t bookworm-backports yt-dlp ffmpeg/);
    expect(plan.error).toContain('YTDLP_PATH');
  });

  test('on Ubuntu (or any other dpkg system) an old packaged yt-dlp is warned about, not reinstalled to no effect', () => {
    const plan = planYtDlpSetup({ ...base, os: { id: 'ubuntu', versionId: '24.04', codename: 'noble' }, ytDlp: debianYtDlp('2024.04.09') });
    expect(plan.actions).toEqual([]);
    expect(plan.error).toBeUndefined();
    expect(plan.notes.some((n) => n.includes('CVE-2024-38519'))).toBe(true);
  });

  test('only ffmpeg missing: installed from the main suite', () => {
    expect(planYtDlpSetup({ ...base, ytDlp: debianYtDlp('2025.04.30'), ffmpeg: false }).actions).toEqual([
      { kind: 'apt-install', packages: ['ffmpeg'], fromBackports: false },
    ]);
  });
});

describe('aria2c (USE_ARIA2C, and the test suite)', () => {
  const current = { path: '/usr/bin/yt-dlp', version: '2025.04.30', debianPackage: true };

  test('installed from Debian (package aria2) when it is missing', () => {
    expect(planYtDlpSetup({ ...base, ytDlp: current, aria2c: false }).actions).toEqual([
      { kind: 'apt-install', packages: ['aria2'], fromBackports: false },
    ]);
    expect(planYtDlpSetup({ ...base, ytDlp: current, aria2c: true }).actions).toEqual([]);
  });

  test('without the rights to install, the command to run names it', () => {
    const plan = planYtDlpSetup({ ...base, ytDlp: current, aria2c: false, canInstall: false });
    expect(plan.error).toContain('sudo apt-get install -y aria2');
  });
});
