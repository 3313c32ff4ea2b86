import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, parseConfig, readEnv, secretsOf } from '../../lib/config';

const TOKEN = '123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789';
const CWD = path.resolve(os.tmpdir(), 'mediadl-config-test');
const minimal = { TELEGRAM_BOT_TOKEN: TOKEN, ADMIN_IDS: '1,2' };

/** Runs parseConfig expecting a ConfigError and returns it. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    parseConfig(env, CWD);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected parseConfig to throw a ConfigError');
}

describe('parseConfig with a minimal valid environment', () => {
  test('yields the documented defaults', () => {
    const config = parseConfig(minimal, CWD);
    expect(config).toMatchObject({
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_ROOT: 'https://api.telegram.org',
      ADMIN_IDS: [1, 2],
      MAX_CONCURRENT: 8,
      WORKFLOW_THREADS: 2,
      MAX_RETRIES: 5,
      RETRY_BASE_SECONDS: 2,
      SOCKET_TIMEOUT: 30,
      MIN_DISK_SPACE_GB: 1,
      TASK_QUEUE: 'media',
      DOWNLOAD_TASK_QUEUE: 'media-downloads',
      LOG_LEVEL: 'info',
      LOG_PRETTY: false,
      MAX_URL_LENGTH: 2048,
      YTDLP_PATH: 'yt-dlp',
    });
  });

  test('resolves the default DOWNLOAD_DIR to an absolute path under the cwd argument', () => {
    const config = parseConfig(minimal, CWD);
    expect(path.isAbsolute(config.DOWNLOAD_DIR)).toBe(true);
    expect(config.DOWNLOAD_DIR).toBe(path.join(CWD, 'downloads'));
  });

  test('resolves a relative DOWNLOAD_DIR against cwd and keeps an absolute one', () => {
    expect(parseConfig({ ...minimal, DOWNLOAD_DIR: 'media/out' }, CWD).DOWNLOAD_DIR).toBe(path.join(CWD, 'media', 'out'));
    const absolute = path.resolve(os.tmpdir(), 'elsewhere');
    expect(parseConfig({ ...minimal, DOWNLOAD_DIR: absolute }, CWD).DOWNLOAD_DIR).toBe(absolute);
  });

  test('parses ADMIN_IDS into numbers, ignoring spaces and empty entries', () => {
    expect(parseConfig({ ...minimal, ADMIN_IDS: ' 12345 , 678901234,,' }, CWD).ADMIN_IDS).toEqual([12345, 678901234]);
    expect(parseConfig({ ...minimal, ADMIN_IDS: '42' }, CWD).ADMIN_IDS).toEqual([42]);
  });

  test('coerces numbers and booleans from their text form', () => {
    const config = parseConfig(
      { ...minimal, MAX_CONCURRENT: '3', RETRY_BASE_SECONDS: '0.5', MIN_DISK_SPACE_GB: '0', LOG_PRETTY: 'yes' },
      CWD,
    );
    expect(config).toMatchObject({ MAX_CONCURRENT: 3, RETRY_BASE_SECONDS: 0.5, MIN_DISK_SPACE_GB: 0, LOG_PRETTY: true });
  });

  test('trims surrounding whitespace from values', () => {
    expect(parseConfig({ ...minimal, MAX_CONCURRENT: ' 4 ', TELEGRAM_BOT_TOKEN: ` ${TOKEN}\n` }, CWD)).toMatchObject({
      MAX_CONCURRENT: 4,
      TELEGRAM_BOT_TOKEN: TOKEN,
    });
  });

  test('ignores variables it does not know', () => {
    const config = parseConfig({ ...minimal, PATH: '/usr/bin', SOMETHING_ELSE: 'x' }, CWD) as unknown as Record<string, unknown>;
    expect(config).not.toHaveProperty('PATH');
    expect(config).not.toHaveProperty('SOMETHING_ELSE');
  });
});

describe('parseConfig reports problems', () => {
  test('several bad values at once produce ONE ConfigError listing every problem', () => {
    const bad = {
      ADMIN_IDS: '1,abc',
      MAX_CONCURRENT: '0',
      MAX_RETRIES: 'lots',
      RETRY_BASE_SECONDS: '-1',
      SOCKET_TIMEOUT: '1.5',
      MIN_DISK_SPACE_GB: 'plenty',
      LOG_LEVEL: 'loud',
      LOG_PRETTY: 'maybe',
      DATABASE_URL: 'mysql://db/x',
      TEMPORAL_ADDRESS: 'no-port-here',
      TELEGRAM_API_ROOT: 'ftp://api.telegram.org',
    };
    const error = configError({ TELEGRAM_BOT_TOKEN: TOKEN, ...bad });
    expect(error.problems).toHaveLength(Object.keys(bad).length);
    for (const name of Object.keys(bad)) {
      expect(error.problems.filter((p) => p.startsWith(`${name} `))).toHaveLength(1);
      expect(error.message).toContain(`  - ${name} `);
    }
  });

  test('the queue clash is reported together with the other problems', () => {
    const error = configError({ ...minimal, MAX_CONCURRENT: '999', TASK_QUEUE: 'same', DOWNLOAD_TASK_QUEUE: 'same' });
    expect(error.problems).toHaveLength(2);
    expect(error.problems[0]).toBe('MAX_CONCURRENT must be at most 256');
    expect(error.problems[1]).toMatch(/^DOWNLOAD_TASK_QUEUE must differ from TASK_QUEUE/);
  });

  test('the problems name the rule broken, not the value', () => {
    const error = configError({ ...minimal, MAX_CONCURRENT: '0', SOCKET_TIMEOUT: '99999', LOG_PRETTY: 'maybe' });
    expect(error.problems).toEqual([
      'MAX_CONCURRENT must be at least 1',
      'SOCKET_TIMEOUT must be at most 3600',
      'LOG_PRETTY must be true or false',
    ]);
  });

  test('WORKFLOW_THREADS is a count of threads from 1 to 16', () => {
    expect(parseConfig({ ...minimal, WORKFLOW_THREADS: '4' }, CWD).WORKFLOW_THREADS).toBe(4);
    expect(configError({ ...minimal, WORKFLOW_THREADS: '0' }).problems).toEqual(['WORKFLOW_THREADS must be at least 1']);
    expect(configError({ ...minimal, WORKFLOW_THREADS: '17' }).problems).toEqual(['WORKFLOW_THREADS must be at most 16']);
  });

  test('a missing token and missing ADMIN_IDS say "is required"', () => {
    const error = configError({});
    expect(error.problems).toEqual(['TELEGRAM_BOT_TOKEN is required', 'ADMIN_IDS is required']);
    expect(error.message).toBe('Invalid configuration:\n  - TELEGRAM_BOT_TOKEN is required\n  - ADMIN_IDS is required');
  });

  test('empty and blank strings count as unset', () => {
    expect(configError({ TELEGRAM_BOT_TOKEN: '', ADMIN_IDS: '   ' }).problems).toEqual([
      'TELEGRAM_BOT_TOKEN is required',
      'ADMIN_IDS is required',
    ]);
    const config = parseConfig({ ...minimal, MAX_CONCURRENT: '', SOCKET_TIMEOUT: '  ', TELEGRAM_API_ROOT: '' }, CWD);
    expect(config).toMatchObject({ MAX_CONCURRENT: 8, SOCKET_TIMEOUT: 30, TELEGRAM_API_ROOT: 'https://api.telegram.org' });
  });

  test('ADMIN_IDS with only separators needs at least one ID', () => {
    expect(configError({ ...minimal, ADMIN_IDS: ',,' }).problems).toEqual(['ADMIN_IDS needs at least one Telegram user ID']);
  });

  test.each([
    ['too short a secret part', '123456:SecretShort1'],
    ['no numeric bot id', 'mybot:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw_secret'],
    ['a space inside', '123456:AAHdqTcvCH1vGW JxfSeofSAs0K5PALDsaw'],
    ['illegal characters', '123456:AAHdqTcvCH1vGW$JxfSeofSAs0K5PALDsaw'],
  ])('a malformed token (%s) is rejected without echoing its value', (_what, token) => {
    const error = configError({ ...minimal, TELEGRAM_BOT_TOKEN: token });
    expect(error.problems).toEqual(['TELEGRAM_BOT_TOKEN does not look like a bot token (digits:letters)']);
    expect(error.message).not.toContain(token);
    // Not even the secret part after the colon leaks.
    expect(error.message).not.toContain(token.split(':')[1]!.slice(0, 10));
  });

  test('the token never appears in the message when other variables are wrong', () => {
    const error = configError({ TELEGRAM_BOT_TOKEN: TOKEN, ADMIN_IDS: 'x', MAX_CONCURRENT: 'y' });
    expect(error.problems).toHaveLength(2);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain('ABCdefGHIjkl');
  });

  test.each([
    ['both set to the same name', { TASK_QUEUE: 'jobs', DOWNLOAD_TASK_QUEUE: 'jobs' }],
    ['TASK_QUEUE set to the default download queue', { TASK_QUEUE: 'media-downloads' }],
    ['DOWNLOAD_TASK_QUEUE set to the default task queue', { DOWNLOAD_TASK_QUEUE: 'media' }],
  ])('rejects TASK_QUEUE equal to DOWNLOAD_TASK_QUEUE (%s)', (_what, queues) => {
    expect(configError({ ...minimal, ...queues }).problems).toEqual([
      'DOWNLOAD_TASK_QUEUE must differ from TASK_QUEUE so downloads cannot starve light work',
    ]);
  });

  test('ConfigError is a named Error carrying its problems', () => {
    const error = configError({});
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.message.split('\n')).toHaveLength(1 + error.problems.length);
  });
});

describe('secretsOf', () => {
  test('names the bot token, also in its URL-encoded forms', () => {
    expect(secretsOf(parseConfig(minimal, CWD))).toEqual([TOKEN, TOKEN.replace(':', '%3A'), TOKEN.replace(':', '%3a')]);
  });

  test('names the passwords in TELEGRAM_API_ROOT, DATABASE_URL and REDIS_URL, as written and decoded, but not user names', () => {
    const secrets = secretsOf(
      parseConfig(
        {
          ...minimal,
          TELEGRAM_API_ROOT: 'https://proxyuser:api%2Fpass@botapi.example.com',
          DATABASE_URL: 'postgresql://mediadl:db-p%40ss@db:5432/mediadl',
          REDIS_URL: 'redis://:redis-secret@cache:6379/0',
        },
        CWD,
      ),
    );
    for (const secret of ['api%2Fpass', 'api/pass', 'db-p%40ss', 'db-p@ss', 'redis-secret', 'proxyuser:api%2Fpass'])
      expect(secrets).toContain(secret);
    expect(secrets).not.toContain('proxyuser');
    expect(secrets).not.toContain('mediadl');
  });

  test('works on raw, unvalidated values (for last-resort error messages)', () => {
    expect(
      secretsOf({ TELEGRAM_BOT_TOKEN: ' not-even-a-token ', DATABASE_URL: 'postgresql://u:pw-raw@h/db', REDIS_URL: 'not a url' }),
    ).toEqual(['not-even-a-token', 'pw-raw', 'u:pw-raw']);
    // A password with a quote or a backslash also in the form JSON log lines write it.
    expect(secretsOf({ DATABASE_URL: `postgresql://u:${encodeURIComponent('a"b\\c')}@h/db` })).toContain('a\\"b\\\\c');
  });
});

describe('settings added for hardening', () => {
  test('MAX_FILE_SIZE reads sizes in binary units and defaults to 4 GB', () => {
    expect(parseConfig(minimal, CWD).MAX_FILE_SIZE).toBe(4 * 1024 ** 3);
    for (const [text, bytes] of [
      ['500MB', 500 * 1024 ** 2],
      ['500M', 500 * 1024 ** 2],
      ['1.5G', 1.5 * 1024 ** 3],
      ['2GiB', 2 * 1024 ** 3],
      ['1073741824', 1024 ** 3],
      ['64k', 64 * 1024],
    ] as const) {
      expect(parseConfig({ ...minimal, MAX_FILE_SIZE: text }, CWD).MAX_FILE_SIZE).toBe(bytes);
    }
    for (const bad of ['lots', '-5G', '10', '5 PB', 'G']) {
      expect(configError({ ...minimal, MAX_FILE_SIZE: bad }).problems).toEqual([
        'MAX_FILE_SIZE must be a size of at least 1 KB, like 4GB, 500MB or 1073741824',
      ]);
    }
  });

  test('private URLs are refused by default; ALLOWED_PRIVATE_HOSTS is read and checked', () => {
    expect(parseConfig(minimal, CWD).ALLOW_PRIVATE_URLS).toBe(false);
    expect(parseConfig(minimal, CWD).ALLOWED_PRIVATE_HOSTS).toBeUndefined();
    expect(parseConfig({ ...minimal, ALLOW_PRIVATE_URLS: 'true', ALLOWED_PRIVATE_HOSTS: 'nas.lan,10.0.0.0/8' }, CWD)).toMatchObject({
      ALLOW_PRIVATE_URLS: true,
      ALLOWED_PRIVATE_HOSTS: [
        { kind: 'name', name: 'nas.lan' },
        { kind: 'range', network: '10.0.0.0', prefix: 8 },
      ],
    });
    expect(configError({ ...minimal, ALLOWED_PRIVATE_HOSTS: 'ok.lan, not a host' }).problems).toEqual([
      'ALLOWED_PRIVATE_HOSTS has entries that are not host names, IP addresses or CIDR ranges: "not a host"',
    ]);
  });
});

describe('a config error never echoes a value that looks like a token, whatever variable it was put in', () => {
  test.each([
    'ADMIN_IDS',
    'ALLOWED_PRIVATE_HOSTS',
    'MAX_CONCURRENT',
    'LOG_LEVEL',
    'TEMPORAL_ADDRESS',
    'DATABASE_URL',
    'MAX_FILE_SIZE',
    'TASK_QUEUE',
  ])('the token pasted into %s', (name) => {
    const error = configError({ ...minimal, [name]: name === 'ADMIN_IDS' || name === 'ALLOWED_PRIVATE_HOSTS' ? `1,${TOKEN}` : TOKEN });
    expect(error.problems.some((p) => p.startsWith(`${name} `))).toBe(true);
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain(TOKEN.split(':')[1]!.slice(0, 12));
  });

  test('short harmless entries are still named, so the message stays useful', () => {
    expect(configError({ ...minimal, ADMIN_IDS: '1,abc' }).problems).toEqual(['ADMIN_IDS has entries that are not user IDs: "abc"']);
    expect(configError({ ...minimal, ADMIN_IDS: '1,user:password' }).problems).toEqual([
      'ADMIN_IDS has entries that are not user IDs: (a 13-character value, not shown)',
    ]);
  });
});

describe('readEnv', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-env-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('reads variables from a .env file in the given directory', () => {
    fs.writeFileSync(
      path.join(dir, '.env'),
      ['# bot settings', `TELEGRAM_BOT_TOKEN=${TOKEN}`, 'ADMIN_IDS=7,8', 'LOG_LEVEL="debug"', ''].join('\n'),
    );
    const env = readEnv(dir, {});
    expect(env).toMatchObject({ TELEGRAM_BOT_TOKEN: TOKEN, ADMIN_IDS: '7,8', LOG_LEVEL: 'debug' });
    expect(parseConfig(env, dir)).toMatchObject({ ADMIN_IDS: [7, 8], LOG_LEVEL: 'debug', DOWNLOAD_DIR: path.join(dir, 'downloads') });
  });

  test('real environment variables win over the .env file', () => {
    fs.writeFileSync(path.join(dir, '.env'), 'MAX_CONCURRENT=4\nADMIN_IDS=7\nLOG_LEVEL=debug\n');
    const env = readEnv(dir, { MAX_CONCURRENT: '12', ADMIN_IDS: '99' });
    expect(env).toMatchObject({ MAX_CONCURRENT: '12', ADMIN_IDS: '99', LOG_LEVEL: 'debug' });
  });

  test('without a .env file it returns the environment as given', () => {
    expect(readEnv(dir, { ADMIN_IDS: '5' })).toEqual({ ADMIN_IDS: '5' });
  });
});
