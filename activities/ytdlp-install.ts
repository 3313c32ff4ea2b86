import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findExecutable } from '../lib/executables';
import { ytDlpEnvironment, type YtDlpFeatures } from './ytdlp';

/**
 * The installed yt-dlp, read once when a worker (or setup) starts: its version,
 * to warn when it is too old for real sites, and the options it supports, so
 * we pass newer ones only to versions that know them (never guessed from the
 * version number: distributions backport).
 */

const run = promisify(execFile);

export interface YtDlpInstall {
  executable: string;
  /** yt-dlp's own version string, a release date such as "2025.04.30". */
  version: string;
  features: YtDlpFeatures;
}

/** yt-dlp versions are release dates; sites change within months. */
export const STALE_AFTER_DAYS = 180;
/** The first release that refuses unsafe file extensions (CVE-2024-38519). */
export const FIRST_SAFE_EXTENSIONS_RELEASE = '2024.07.01';

/** What an installed yt-dlp supports, from the text of its --help. */
export function featuresFromHelp(help: string): YtDlpFeatures {
  return { jsRuntimes: /(^|\s)--js-runtimes\b/m.test(help), noQuiet: /(^|\s)--no-quiet\b/m.test(help) };
}

/** The release date a yt-dlp version names ("2025.04.30", "2025.11.12.1"), or null. */
export function releaseDate(version: string): Date | null {
  const match = /^(\d{4})\.(\d{2})\.(\d{2})/.exec(version.trim());
  if (!match) return null;
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Whole days between a version's release and `now`, or null when the version is not a date. */
export function ageInDays(version: string, now: Date): number | null {
  const released = releaseDate(version);
  return released ? Math.floor((now.getTime() - released.getTime()) / 86_400_000) : null;
}

/** Warnings an operator should read about this version, in plain words (none for a current one). */
export function versionWarnings(version: string, now: Date): string[] {
  const age = ageInDays(version, now);
  if (age === null) return [`yt-dlp reports the version "${version}", which is not a release date; cannot tell how old it is`];
  const warnings: string[] = [];
  if (version.trim() < FIRST_SAFE_EXTENSIONS_RELEASE) {
    warnings.push(
      `yt-dlp ${version} predates the fix for CVE-2024-38519 (files with unsafe extensions); this app refuses such files itself, but upgrade`,
    );
  }
  if (age > STALE_AFTER_DAYS) {
    warnings.push(
      `yt-dlp ${version} is ${age} days old; sites change often and many will fail. Install a current yt-dlp and point YTDLP_PATH at it (see the README)`,
    );
  }
  return warnings;
}

/** Runs `yt-dlp --version` and `--help`; null when it cannot be run. */
export async function probeYtDlp(ytDlpPath: string): Promise<YtDlpInstall | null> {
  const executable = findExecutable(ytDlpPath);
  if (!executable) return null;
  const options = { timeout: 30_000, env: ytDlpEnvironment(), maxBuffer: 4 * 1024 * 1024 };
  try {
    const [version, help] = await Promise.all([run(executable, ['--version'], options), run(executable, ['--help'], options)]);
    return { executable, version: version.stdout.trim().split('\n')[0] ?? '', features: featuresFromHelp(help.stdout) };
  } catch {
    return null;
  }
}
