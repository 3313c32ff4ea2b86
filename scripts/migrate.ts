// Creates the database in DATABASE_URL when missing and applies pending migrations.
import { ensureDatabase } from '../lib/database-admin';
import { readEnv } from '../lib/config';
import { applyMigrations } from '../lib/migrations';

const DEFAULT_URL = 'postgresql://postgres@127.0.0.1:5432/mediadl';

async function main(): Promise<void> {
  const databaseUrl = readEnv().DATABASE_URL || DEFAULT_URL;
  const where = new URL(databaseUrl);
  const label = `${where.host}${where.pathname}`;
  if (await ensureDatabase(databaseUrl)) console.log(`created database ${label}`);
  const applied = await applyMigrations(databaseUrl);
  console.log(applied.length ? `applied migrations to ${label}: ${applied.join(', ')}` : `database ${label} is up to date`);
}

// The WASM schema engine leaves a timer running after its work is done; exit
// explicitly rather than idling for ten seconds.
main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
  console.error(`migration failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
