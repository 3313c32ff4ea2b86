import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationList, SchemaEngine } from '@prisma/schema-engine-wasm';
import pg from 'pg';

/**
 * Applies prisma/migrations with Prisma's schema engine compiled to WebAssembly.
 * It writes the same `_prisma_migrations` table as `prisma migrate deploy`, which
 * needs a native engine that cannot be downloaded everywhere this project runs.
 */

export const PRISMA_DIR = path.resolve(__dirname, '..', 'prisma');
const SCHEMA_PATH = path.join(PRISMA_DIR, 'schema.prisma');
const MIGRATIONS_DIR = path.join(PRISMA_DIR, 'migrations');

type EngineModule = typeof import('@prisma/schema-engine-wasm');

// The engine package is ESM; a real dynamic import keeps the CommonJS build from turning it into require().
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<EngineModule & Record<string, unknown>>;

interface WasmApi {
  instantiate(bytes: Buffer, imports: Record<string, unknown>): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

let enginePromise: Promise<EngineModule> | undefined;

async function loadEngine(): Promise<EngineModule> {
  const dir = path.dirname(require.resolve('@prisma/schema-engine-wasm'));
  const glue = await importEsm(pathToFileURL(path.join(dir, 'schema_engine_bg.js')).href);
  const bytes = fs.readFileSync(path.join(dir, 'schema_engine_bg.wasm'));
  // Node has WebAssembly built in; its types live in the DOM lib, which this project does not load.
  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const { instance } = await wasm.instantiate(bytes, { './schema_engine_bg.js': glue });
  (glue.__wbg_set_wasm as (wasm: unknown) => void)(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return glue;
}

/** PostgreSQL's internal "char" type (OID 18) is unknown to the engine; report it as text. */
function poolWithCharAsText(pool: pg.Pool): pg.Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<pg.QueryResult>;
  (pool as unknown as { query: unknown }).query = async (...args: unknown[]) => {
    const result = await query(...args);
    for (const field of result.fields ?? []) if (field.dataTypeID === 18) field.dataTypeID = 25;
    return result;
  };
  return pool;
}

export async function withSchemaEngine<T>(databaseUrl: string, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  enginePromise ??= loadEngine();
  const { SchemaEngine } = await enginePromise;
  const pool = poolWithCharAsText(new pg.Pool({ connectionString: databaseUrl, max: 2 }));
  try {
    const adapter = bindMigrationAwareSqlAdapterFactory(new PrismaPg(pool));
    const engine = await SchemaEngine.new({ datamodels: [[SCHEMA_PATH, fs.readFileSync(SCHEMA_PATH, 'utf8')]] }, () => undefined, adapter);
    try {
      return await fn(engine);
    } finally {
      engine.free();
    }
  } finally {
    await pool.end();
  }
}

export function readMigrations(dir = MIGRATIONS_DIR): MigrationList {
  const lockPath = path.join(dir, 'migration_lock.toml');
  const names = fs.existsSync(dir)
    ? fs
        .readdirSync(dir)
        .filter((name) => fs.existsSync(path.join(dir, name, 'migration.sql')))
        .sort()
    : [];
  return {
    baseDir: dir,
    lockfile: { path: 'migration_lock.toml', content: fs.existsSync(lockPath) ? fs.readFileSync(lockPath, 'utf8') : null },
    shadowDbInitScript: '',
    migrationDirectories: names.map((name) => ({
      path: name,
      migrationFile: {
        path: 'migration.sql',
        content: { tag: 'ok' as const, value: fs.readFileSync(path.join(dir, name, 'migration.sql'), 'utf8') },
      },
    })),
  };
}

const NO_FILTERS = { externalTables: [], externalEnums: [] };

/** Applies every migration not yet applied; returns the names it applied. */
export async function applyMigrations(databaseUrl: string): Promise<string[]> {
  return withSchemaEngine(databaseUrl, async (engine) => {
    const out = await engine.applyMigrations({ migrationsList: readMigrations(), filters: NO_FILTERS });
    return out.appliedMigrationNames;
  });
}

/**
 * The SQL that takes a database with every existing migration applied to the
 * current schema.prisma; empty when they already match.
 */
export async function pendingSchemaSql(scratchDatabaseUrl: string): Promise<string> {
  await applyMigrations(scratchDatabaseUrl);
  return withSchemaEngine(scratchDatabaseUrl, async (engine) => {
    const files = [{ path: SCHEMA_PATH, content: fs.readFileSync(SCHEMA_PATH, 'utf8') }];
    const result = await engine.diff({
      from: { tag: 'schemaDatasource', files, configDir: PRISMA_DIR },
      to: { tag: 'schemaDatamodel', files },
      script: true,
      exitCode: null,
      shadowDatabaseUrl: null,
      filters: NO_FILTERS,
    } as Parameters<SchemaEngine['diff']>[0]);
    return (result.stdout ?? '').trim();
  });
}
