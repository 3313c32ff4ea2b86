import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Source files the project needs must reach a clean clone: none may be hidden by
 * .gitignore (a code folder once shared its name with the ignored download
 * folder, and CI's clean clone lacked a file every local run had).
 */

const ROOT = path.resolve(__dirname, '..', '..');
const SOURCE_DIRS = ['domain', 'lib', 'workflows', 'activities', 'workers', 'bot', 'scripts', 'test', 'prisma'];
const GENERATED = [path.join('lib', 'generated')];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (GENERATED.includes(relative)) return [];
    return entry.isDirectory() ? sourceFiles(relative) : [relative];
  });
}

test('no source file is ignored by git', () => {
  const files = SOURCE_DIRS.filter((dir) => fs.existsSync(path.join(ROOT, dir))).flatMap(sourceFiles);
  expect(files.length).toBeGreaterThan(50);
  let ignored = '';
  try {
    ignored = execFileSync('git', ['check-ignore', '--stdin'], { cwd: ROOT, input: files.join('\n'), encoding: 'utf8' });
  } catch (err) {
    // Exit status 1: none of them is ignored.
    if ((err as { status?: number }).status !== 1) throw err;
  }
  expect(ignored.split('\n').filter(Boolean)).toEqual([]);
});

test('the default download folder is not a code folder', () => {
  expect(fs.existsSync(path.join(ROOT, 'downloads', 'client.ts'))).toBe(false);
  expect(SOURCE_DIRS).not.toContain('downloads');
});
