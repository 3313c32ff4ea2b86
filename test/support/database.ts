import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { createDb, type Db } from '../../lib/db';
import { dropDatabase, withDatabaseName } from '../../lib/database-admin';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..', '..');
export const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  db: Db;
  drop(): Promise<void>;
}

/**
 * A fresh database with every migration applied by the same command users run
 * (`npm run migrate`), dropped again by `drop()`.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const url = withDatabaseName(SERVER_URL, `mediadl_test_${process.pid}_${randomBytes(3).toString('hex')}`);
  await run(process.execPath, [path.join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/migrate.ts'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url },
  });
  const db = createDb(url);
  return {
    url,
    db,
    async drop() {
      await db.$disconnect();
      await dropDatabase(url);
    },
  };
}
