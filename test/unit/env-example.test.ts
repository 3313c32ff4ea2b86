import fs from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { configSchema, parseConfig } from '../../lib/config';

const ROOT = path.resolve(__dirname, '..', '..');
const text = fs.readFileSync(path.join(ROOT, '.env.example'), 'utf8');
const lines = text.split(/\r?\n/);
const schemaKeys = Object.keys(configSchema.shape) as Array<keyof typeof configSchema.shape>;

/** `KEY=value` lines, in file order, with the comment line right above each. */
const assignments = lines.flatMap((line, i) => {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
  return match ? [{ key: match[1], value: match[2], comment: lines[i - 1] ?? '' }] : [];
});
/** Names assigned anywhere, including commented-out `# KEY=value` lines. */
const mentionedNames = lines.flatMap((line) => {
  const match = /^\s*#?\s*([A-Za-z_][A-Za-z0-9_]*)\s*=/.exec(line);
  return match ? [match[1]] : [];
});

/** Required by the bot (parseConfig insists); the worker, the API and the ops CLI run without them. */
const BOT_REQUIRED = ['ADMIN_IDS', 'TELEGRAM_BOT_TOKEN'];
const requiredKeys = schemaKeys.filter((key) => !configSchema.shape[key].safeParse(undefined).success || BOT_REQUIRED.includes(key));
const optionalKeys = schemaKeys.filter((key) => {
  const result = configSchema.shape[key].safeParse(undefined);
  return result.success && result.data === undefined && !BOT_REQUIRED.includes(key);
});

const FAKE_TOKEN = '123456789:AAExampleFakeTokenDoNotUse_xxxxxxx';
const FAKE_ADMINS = '11111111,22222222';

describe('.env.example', () => {
  test('documents every schema variable once, in schema order', () => {
    expect(assignments.map((a) => a.key)).toEqual(schemaKeys);
  });

  test('names no variable the schema does not know', () => {
    const known = new Set<string>(schemaKeys);
    expect(mentionedNames.filter((name) => !known.has(name))).toEqual([]);
  });

  test('gives each variable a one-line comment with its default or why it has none', () => {
    expect(requiredKeys.sort()).toEqual(['ADMIN_IDS', 'TELEGRAM_BOT_TOKEN']);
    for (const { key, value, comment } of assignments) {
      expect({ key, comment }).toEqual({ key, comment: expect.stringMatching(/^# \S.{10,}/) });
      if (requiredKeys.includes(key as never)) {
        expect({ key, comment, value }).toEqual({ key, comment: expect.stringMatching(/Required, no default/), value: '' });
      } else if (optionalKeys.includes(key as never)) {
        expect({ key, comment, value }).toEqual({ key, comment: expect.stringMatching(/Optional, no default/), value: '' });
      } else {
        expect({ key, comment }).toEqual({ key, comment: expect.stringMatching(new RegExp(`Default: ${escapeRegExp(value)}$`)) });
      }
    }
  });

  test('the documented values are exactly the schema defaults', () => {
    for (const { key, value } of assignments) {
      if (!value) continue;
      const schema = configSchema.shape[key as keyof typeof configSchema.shape];
      expect({ key, value: schema.parse(value) }).toEqual({ key, value: schema.parse(undefined) });
    }
  });

  test('the placeholders shown for the required values have the accepted shape', () => {
    const shown = (key: string) => /looks like ([^\s)]+)\)/.exec(assignments.find((a) => a.key === key)?.comment ?? '')?.[1];
    expect(shown('TELEGRAM_BOT_TOKEN')).toBe(FAKE_TOKEN);
    expect(shown('ADMIN_IDS')).toBe(FAKE_ADMINS);
    expect(configSchema.shape.TELEGRAM_BOT_TOKEN.safeParse(FAKE_TOKEN).success).toBe(true);
    expect(configSchema.shape.ADMIN_IDS.parse(FAKE_ADMINS)).toEqual([11111111, 22222222]);
  });

  test('parses with parseConfig once the required values are filled in', () => {
    const required = { TELEGRAM_BOT_TOKEN: FAKE_TOKEN, ADMIN_IDS: FAKE_ADMINS };
    const fromExample = parseConfig({ ...parseEnv(text), ...required }, '/srv/app');
    expect(fromExample).toEqual(parseConfig(required, '/srv/app'));
    expect(fromExample.DOWNLOAD_DIR).toBe(path.resolve('/srv/app', 'downloads'));
    expect(fromExample.ADMIN_IDS).toEqual([11111111, 22222222]);
  });

  test('as written, it fails only on the two required values, naming them', () => {
    expect(() => parseConfig(parseEnv(text))).toThrow(/TELEGRAM_BOT_TOKEN is required[\s\S]*ADMIN_IDS is required/);
  });
});

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
