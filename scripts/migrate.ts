// Creates the database in DATABASE_URL when missing and applies pending migrations.
import { ensureDatabase } from '../lib/database-admin';
import { parsePartialConfig, readEnv } from '../lib/config';
import { applyMigrations } from '../lib/migrations';

async function main(): Promise<void> {
  const { DATABASE_URL: databaseUrl } = parsePartialConfig(readEnv(), ['DATABASE_URL']);
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
