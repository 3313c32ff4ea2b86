import fs from 'node:fs';
import path from 'node:path';
import { DOWNLOAD_MODES, DOWNLOAD_STATES } from '../../domain/downloads/definitions';

const schema = fs.readFileSync(path.join(__dirname, '../../prisma/schema.prisma'), 'utf8');

/** The values of a Prisma enum, in declaration order, ignoring comments and attributes. */
function prismaEnum(name: string): string[] {
  const match = new RegExp(`^enum\\s+${name}\\s*\\{([^}]*)\\}`, 'm').exec(schema);
  if (!match) throw new Error(`enum ${name} not found in prisma/schema.prisma`);
  return match[1]!
    .split('\n')
    .map((line) => line.replace(/\/\/.*$/, '').trim())
    .filter(Boolean)
    .map((line) => line.split(/\s+/)[0]!);
}

describe('download states and modes mirror the Prisma schema', () => {
  test('DOWNLOAD_STATES equals the values of the DownloadState enum', () => {
    expect(prismaEnum('DownloadState')).toEqual([...DOWNLOAD_STATES]);
  });

  test('DOWNLOAD_MODES equals the values of the DownloadMode enum', () => {
    expect(prismaEnum('DownloadMode')).toEqual([...DOWNLOAD_MODES]);
  });
});
