// Writes prisma/migrations/<timestamp>_<name>/migration.sql with the SQL that
// brings the existing migrations up to schema.prisma. Usage: npm run migration:new -- <name>
import fs from 'node:fs';
import path from 'node:path';
import { parsePartialConfig, readEnv } from '../lib/config';
import { dropDatabase, ensureDatabase, withDatabaseName } from '../lib/database-admin';
import { pendingSchemaSql, PRISMA_DIR } from '../lib/migrations';

async function main(): Promise<void> {
  const name = process.argv[2];
  if (!name || !/^[a-z0-9_]+$/.test(name)) {
    console.error('usage: npm run migration:new -- <name>   (lower-case letters, digits and _)');
    process.exit(2);
  }
  const { DATABASE_URL: base } = parsePartialConfig(readEnv(), ['DATABASE_URL']);
  const scratch = withDatabaseName(base, `mediadl_scratch_${process.pid}`);
  await ensureDatabase(scratch);
  try {
    const sql = await pendingSchemaSql(scratch);
    if (!sql || (/^-- This is an empty migration\.?$/m.test(sql) && sql.split('\n').length <= 1)) {
      console.log('schema.prisma matches the migrations; nothing to write');
      return;
    }
    const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const dir = path.join(PRISMA_DIR, 'migrations', `${stamp}_${name}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'migration.sql'), `${sql}\n`);
    const lock = path.join(PRISMA_DIR, 'migrations', 'migration_lock.toml');
    if (!fs.existsSync(lock)) fs.writeFileSync(lock, 'provider = "postgresql"\n');
    console.log(`wrote ${path.relative(process.cwd(), dir)}/migration.sql`);
  } finally {
    await dropDatabase(scratch);
  }
}

// The WASM schema engine leaves a timer running after its work is done; exit
// explicitly rather than idling for ten seconds.
main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(`could not create migration: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
