import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/prisma/client';

export type Db = PrismaClient;
export type { Download, DownloadRequest } from './generated/prisma/client';

/**
 * Prisma over node-postgres. The driver adapter keeps Prisma's native query
 * engine out of the picture (it cannot be downloaded on every machine).
 */
export function createDb(databaseUrl: string): Db {
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: 5, connectionTimeoutMillis: 5_000 }) });
}
