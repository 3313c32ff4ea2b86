import fs from 'node:fs';
import path from 'node:path';
import { configSchema } from '../../lib/config';

const readme = fs.readFileSync(path.resolve(__dirname, '..', '..', 'README.md'), 'utf8');

test('the README configuration table documents every variable the schema reads, and no other', () => {
  const documented = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  expect(documented.sort()).toEqual(Object.keys(configSchema.shape).sort());
});

test('the README shows the set-up and test commands that CI runs', () => {
  const ci = fs.readFileSync(path.resolve(__dirname, '..', '..', '.ci', 'run'), 'utf8');
  for (const command of ['npm run setup', 'npm test']) {
    expect(readme).toContain(command);
    expect(ci).toContain(command);
  }
});
