import path from 'node:path';
import { defineConfig } from 'prisma/config';

// The CLI reads the database URL from here (Prisma 7 no longer takes it from
// the schema). Generation does not need a database, so a placeholder is fine.
export default defineConfig({
  schema: path.join('prisma', 'schema.prisma'),
  migrations: { path: path.join('prisma', 'migrations') },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/placeholder' },
});
