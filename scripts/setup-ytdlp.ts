// Part of `npm run setup`: makes sure a usable yt-dlp and ffmpeg are installed.
// YTDLP_PATH (environment or .env) names the operator's own yt-dlp: it is checked
// and the Debian package is left alone. Otherwise yt-dlp comes from Debian: on
// Debian 12 from bookworm-backports (the main suite's 2023.03.04 cannot download
// from most sites and lacks the fix for CVE-2024-38519), on newer Debian from the
// main suite. Safe to run again: it only acts on what is missing or too old.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { FIRST_SAFE_EXTENSIONS_RELEASE, versionWarnings } from '../activities/ytdlp-install';
import { readEnv } from '../lib/config';
import { findExecutable } from '../lib/executables';

export interface SetupFacts {
  /** YTDLP_PATH as the operator set it, or undefined when unset. */
  ytDlpPathSetting?: string;
  /** The yt-dlp that would run: its path and version, and whether Debian's package owns it. */
  ytDlp: { path: string; version: string; debianPackage: boolean } | null;
  ffmpeg: boolean;
  /**
   * Whether aria2c is installed. It is installed with yt-dlp and ffmpeg: USE_ARIA2C=true needs it,
   * and the test suite runs yt-dlp with it. Undefined: not asked (older callers).
   */
  aria2c?: boolean;
  /** From /etc/os-release. */
  os: { id: string; versionId: string; codename: string };
  canInstall: boolean;
  backportsSourcePresent: boolean;
}

export type SetupAction =
  { kind: 'add-backports-source'; codename: string } | { kind: 'apt-install'; packages: string[]; fromBackports: boolean };

export interface SetupPlan {
  actions: SetupAction[];
  /** Lines for the operator; a plan with an error cannot go on. */
  notes: string[];
  error?: string;
}

const isDebian = (os: SetupFacts['os']) => os.id === 'debian';
const isBookworm = (os: SetupFacts['os']) => isDebian(os) && (os.codename === 'bookworm' || os.versionId === '12');
const tooOld = (version: string) => version.trim() < FIRST_SAFE_EXTENSIONS_RELEASE;

/** What setup should do about yt-dlp and ffmpeg, from what it found. Pure, so every case is tested. */
export function planYtDlpSetup(facts: SetupFacts): SetupPlan {
  const actions: SetupAction[] = [];
  const notes: string[] = [];
  const packages: string[] = [];
  let fromBackports = false;

  if (facts.ytDlpPathSetting) {
    if (!facts.ytDlp) {
      return {
        actions,
        notes,
        error: `YTDLP_PATH is set to ${facts.ytDlpPathSetting}, which is not an executable. Fix YTDLP_PATH or unset it to use Debian's yt-dlp.`,
      };
    }
    notes.push(`yt-dlp ${facts.ytDlp.version} at ${facts.ytDlp.path} (YTDLP_PATH); the Debian package is left alone`);
  } else if (!facts.ytDlp || (facts.ytDlp.debianPackage && isDebian(facts.os) && tooOld(facts.ytDlp.version))) {
    // Only on Debian do we know a newer package exists (backports on 12, the main suite after);
    // elsewhere an old packaged yt-dlp is warned about, and the app refuses unsafe files itself.
    if (facts.ytDlp)
      notes.push(`Debian's yt-dlp ${facts.ytDlp.version} is too old (before ${FIRST_SAFE_EXTENSIONS_RELEASE}); upgrading it`);
    packages.push('yt-dlp');
    fromBackports = isBookworm(facts.os);
  } else {
    notes.push(`yt-dlp ${facts.ytDlp.version} at ${facts.ytDlp.path}`);
  }
  if (!facts.ffmpeg) packages.push('ffmpeg');
  if (facts.aria2c === false) packages.push('aria2');

  if (packages.length > 0) {
    if (!facts.canInstall) {
      const command = fromBackports
        ? `sudo apt-get install -y -t bookworm-backports ${packages.join(' ')} (after adding the bookworm-backports source)`
        : `sudo apt-get install -y ${packages.join(' ')}`;
      return {
        actions,
        notes,
        error: `${packages.join(' and ')} not installed (or too old). Run: ${command}, or install a current yt-dlp yourself and set YTDLP_PATH (see the README)`,
      };
    }
    if (fromBackports && !facts.backportsSourcePresent) actions.push({ kind: 'add-backports-source', codename: 'bookworm' });
    actions.push({ kind: 'apt-install', packages, fromBackports });
  }
  const version = facts.ytDlp && (facts.ytDlpPathSetting || !packages.includes('yt-dlp')) ? facts.ytDlp.version : null;
  if (version) for (const warning of versionWarnings(version, new Date())) notes.push(`warning: ${warning}`);
  return { actions, notes };
}

// ---------------------------------------------------------------------------
// Gathering facts and acting on them (the part that touches the machine).

const say = (message: string) => console.log(`setup: ${message}`);

function osRelease(): SetupFacts['os'] {
  const text = fs.existsSync('/etc/os-release') ? fs.readFileSync('/etc/os-release', 'utf8') : '';
  const field = (name: string) => new RegExp(`^${name}="?([^"\\n]*)"?$`, 'm').exec(text)?.[1] ?? '';
  return { id: field('ID'), versionId: field('VERSION_ID'), codename: field('VERSION_CODENAME') };
}

function versionOf(executable: string): string | null {
  const result = spawnSync(executable, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 ? result.stdout.trim().split('\n')[0]! : null;
}

function ownedByDebianPackage(file: string): boolean {
  return spawnSync('dpkg', ['-S', fs.realpathSync(file)], { stdio: 'ignore' }).status === 0;
}

const APT_SOURCES = ['/etc/apt/sources.list', '/etc/apt/sources.list.d'];

function backportsSourcePresent(codename: string): boolean {
  const files = APT_SOURCES.flatMap((entry) => {
    if (!fs.existsSync(entry)) return [];
    return fs.statSync(entry).isDirectory() ? fs.readdirSync(entry).map((f) => `${entry}/${f}`) : [entry];
  });
  const enabled = (line: string) => !line.trimStart().startsWith('#') && line.includes(`${codename}-backports`);
  return files.some((file) => /\.(list|sources)$|sources\.list$/.test(file) && fs.readFileSync(file, 'utf8').split('\n').some(enabled));
}

function gatherFacts(): SetupFacts {
  const setting = (process.env.YTDLP_PATH ?? readEnv().YTDLP_PATH)?.trim() || undefined;
  const executable = findExecutable(setting ?? 'yt-dlp');
  const version = executable ? versionOf(executable) : null;
  const os = osRelease();
  const isRoot = process.getuid?.() === 0;
  return {
    ytDlpPathSetting: setting,
    ytDlp: executable && version ? { path: executable, version, debianPackage: ownedByDebianPackage(executable) } : null,
    ffmpeg: findExecutable('ffmpeg') !== null,
    aria2c: findExecutable('aria2c') !== null,
    os,
    canInstall: isRoot && findExecutable('apt-get') !== null,
    backportsSourcePresent: backportsSourcePresent(os.codename || 'bookworm'),
  };
}

function apt(args: string[]): void {
  execFileSync('apt-get', ['-qq', ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

function act(action: SetupAction): void {
  if (action.kind === 'add-backports-source') {
    say(`adding the ${action.codename}-backports source (/etc/apt/sources.list.d/${action.codename}-backports.sources)`);
    fs.writeFileSync(
      `/etc/apt/sources.list.d/${action.codename}-backports.sources`,
      [
        'Types: deb',
        'URIs: http://deb.debian.org/debian',
        `Suites: ${action.codename}-backports`,
        'Components: main',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        '',
      ].join('\n'),
    );
    return;
  }
  say(`installing ${action.packages.join(' and ')} from Debian${action.fromBackports ? ' (yt-dlp from bookworm-backports)' : ''}`);
  apt(['update']);
  if (action.fromBackports) {
    const others = action.packages.filter((p) => p !== 'yt-dlp');
    if (others.length) apt(['install', '-y', ...others]);
    apt(['install', '-y', '-t', 'bookworm-backports', 'yt-dlp']);
  } else {
    apt(['install', '-y', ...action.packages]);
  }
}

function main(): void {
  const plan = planYtDlpSetup(gatherFacts());
  for (const note of plan.notes.filter((n) => !n.startsWith('warning:'))) say(note);
  if (plan.error) {
    console.error(`setup: ERROR: ${plan.error}`);
    process.exit(1);
  }
  for (const action of plan.actions) act(action);
  if (plan.actions.length > 0) {
    // Judge what is installed now, the way the next run will: missing is an error;
    // still old (nothing newer in the suite) is a warning, as the app refuses unsafe files itself.
    const facts = gatherFacts();
    if (!facts.ytDlp || !facts.ffmpeg || !facts.aria2c) {
      console.error(`setup: ERROR: ${!facts.ytDlp ? 'yt-dlp' : !facts.ffmpeg ? 'ffmpeg' : 'aria2c'} is still missing after installing`);
      process.exit(1);
    }
    say(`yt-dlp ${facts.ytDlp.version} at ${facts.ytDlp.path}`);
    for (const warning of versionWarnings(facts.ytDlp.version, new Date())) say(`warning: ${warning}`);
  } else {
    for (const note of plan.notes.filter((n) => n.startsWith('warning:'))) say(note);
  }
}

if (require.main === module) main();
