import { secretsOf } from '../../lib/config';
import { newCorrelationId, withCorrelation } from '../../lib/correlation';
import { LogCollector, createLogger, redact, redactUrlPasswords } from '../../lib/logger';
import { expectLinearTime, megabyteOf } from '../support/linear-time';

const TOKEN = '123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789';

function setup(secrets?: string[]) {
  const collector = new LogCollector();
  const logger = createLogger({ level: 'info', destination: collector, secrets, name: 'test' });
  return { collector, logger };
}

describe('correlation IDs in log lines', () => {
  test('a line logged inside withCorrelation carries the correlationId', () => {
    const { collector, logger } = setup();
    withCorrelation('abc123def456', () => logger.info('handling message'));
    expect(collector.entries()).toEqual([expect.objectContaining({ msg: 'handling message', correlationId: 'abc123def456' })]);
  });

  test('a line logged outside withCorrelation has no correlationId', () => {
    const { collector, logger } = setup();
    logger.info('idle');
    const [entry] = collector.entries();
    expect(entry).toMatchObject({ msg: 'idle', level: 30, name: 'test' });
    expect(entry).not.toHaveProperty('correlationId');
  });

  test('the correlationId follows async work and does not leak out of it', async () => {
    const { collector, logger } = setup();
    const id = newCorrelationId();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    await withCorrelation(id, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      logger.info('after await');
    });
    logger.info('after the request');
    const entries = collector.entries();
    expect(entries[0]).toMatchObject({ msg: 'after await', correlationId: id });
    expect(entries[1]).not.toHaveProperty('correlationId');
  });

  test('concurrent requests keep their own correlationId', async () => {
    const { collector, logger } = setup();
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    await Promise.all([
      withCorrelation('aaaaaaaaaaaa', async () => {
        await wait(5);
        logger.info('first');
      }),
      withCorrelation('bbbbbbbbbbbb', async () => {
        await wait(1);
        logger.info('second');
      }),
    ]);
    const byMsg = Object.fromEntries(collector.entries().map((e) => [e.msg, e.correlationId]));
    expect(byMsg).toEqual({ first: 'aaaaaaaaaaaa', second: 'bbbbbbbbbbbb' });
  });

  test('a nested withCorrelation takes over and the outer one comes back after it', () => {
    const { collector, logger } = setup();
    withCorrelation('outer0000000', () => {
      withCorrelation('inner0000000', () => logger.info('inner'));
      logger.info('outer');
    });
    expect(collector.entries().map((e) => e.correlationId)).toEqual(['inner0000000', 'outer0000000']);
  });
});

describe('secret redaction', () => {
  test('a secret in the message is replaced by [REDACTED]', () => {
    const { collector, logger } = setup([TOKEN]);
    logger.info(`calling https://api.telegram.org/bot${TOKEN}/getMe`);
    expect(collector.lines.join('')).not.toContain(TOKEN);
    expect(collector.entries()[0]!.msg).toBe('calling https://api.telegram.org/bot[REDACTED]/getMe');
  });

  test('a secret in a nested object field is replaced by [REDACTED]', () => {
    const { collector, logger } = setup([TOKEN]);
    logger.info({ request: { url: `https://api.telegram.org/bot${TOKEN}/sendMessage`, headers: [TOKEN] } }, 'sent');
    expect(collector.lines.join('')).not.toContain(TOKEN);
    expect(collector.entries()[0]).toMatchObject({
      msg: 'sent',
      request: { url: 'https://api.telegram.org/bot[REDACTED]/sendMessage', headers: ['[REDACTED]'] },
    });
  });

  test("a secret in an error's message and stack is replaced by [REDACTED]", () => {
    const { collector, logger } = setup([TOKEN]);
    logger.error({ err: new Error(`request to /bot${TOKEN}/getUpdates failed`) }, 'polling failed');
    expect(collector.lines.join('')).not.toContain(TOKEN);
    const err = collector.entries()[0]!.err as { message: string; stack: string; type: string };
    expect(err.type).toBe('Error');
    expect(err.message).toBe('request to /bot[REDACTED]/getUpdates failed');
    expect(err.stack).toContain('request to /bot[REDACTED]/getUpdates failed');
    expect(err.stack).toMatch(/\n\s+at /);
  });

  test('every occurrence of every secret is redacted, together with the correlationId still present', () => {
    const other = 'postgres-password-0123456789';
    const { collector, logger } = setup([TOKEN, other]);
    withCorrelation('feedfacecafe', () => logger.warn({ a: TOKEN, b: `${other}/${other}` }, `${TOKEN} and ${TOKEN}`));
    const line = collector.lines.join('');
    expect(line).not.toContain(TOKEN);
    expect(line).not.toContain(other);
    expect(collector.entries()[0]).toMatchObject({
      msg: '[REDACTED] and [REDACTED]',
      a: '[REDACTED]',
      b: '[REDACTED]/[REDACTED]',
      correlationId: 'feedfacecafe',
    });
  });

  test('lines without secrets pass through unchanged', () => {
    const { collector, logger } = setup([TOKEN]);
    logger.info({ count: 3 }, 'nothing secret here');
    expect(collector.entries()[0]).toMatchObject({ msg: 'nothing secret here', count: 3 });
  });

  test('redact replaces all occurrences of each secret', () => {
    expect(redact('a-SECRETxyz-b-SECRETxyz', ['SECRETxyz'])).toBe('a-[REDACTED]-b-[REDACTED]');
    expect(redact('nothing', [''])).toBe('nothing');
  });

  test('secrets under 8 characters are not searched for in free text (they would blank out words), but inside a URL they are caught', () => {
    expect(redact('connection refused', ['on'])).toBe('connection refused');
    expect(redact('redis://:on@cache:6379 refused', ['on'])).toBe('redis://:[REDACTED]@cache:6379 refused');
  });

  test('a password with a quote or backslash is caught in its JSON-escaped form too', () => {
    const password = 'p"w\\d12345';
    const { collector, logger } = setup(secretsOf({ DATABASE_URL: `postgresql://app:${encodeURIComponent(password)}@db/x` }));
    logger.info({ attempt: `login with ${password}` }, 'tried');
    expect(collector.lines.join('')).not.toContain(JSON.stringify(password).slice(1, -1));
    expect(collector.entries()[0]).toMatchObject({ attempt: 'login with [REDACTED]' });
  });
});

describe('passwords inside URLs', () => {
  test.each([
    ['https://user:s3cret@botapi.example.com/bot1/getMe', 'https://user:[REDACTED]@botapi.example.com/bot1/getMe'],
    ['redis://:pw@127.0.0.1:6379/0', 'redis://:[REDACTED]@127.0.0.1:6379/0'],
    ['postgresql://app:p%40ss@db/x and http://a:b@c/', 'postgresql://app:[REDACTED]@db/x and http://a:[REDACTED]@c/'],
    ['{"apiRoot":"http://u:p@h:1"}', '{"apiRoot":"http://u:[REDACTED]@h:1"}'],
    ['a://b://c:d@e/', 'a://b://c:[REDACTED]@e/'],
    ['postgresql://postgres@127.0.0.1/db', 'postgresql://postgres@127.0.0.1/db'],
    ['http://host:8080/path@x', 'http://host:8080/path@x'],
    ['no url at all', 'no url at all'],
  ])('%s', (input, output) => {
    expect(redactUrlPasswords(input)).toBe(output);
  });

  test('every log line has them replaced, even with no secret configured (a short password is not a listed secret)', () => {
    const { collector, logger } = setup();
    logger.info({ apiRoot: 'https://bot:pw@api.example.com' }, 'started');
    expect(collector.lines.join('')).not.toContain(':pw@');
  });

  test('is linear on adversarial text', () => {
    expectLinearTime('redactUrlPasswords', () => redactUrlPasswords(megabyteOf('a://')));
    expectLinearTime('redactUrlPasswords', () => redactUrlPasswords(`http://${megabyteOf('a:')}@`));
    expectLinearTime('redactUrlPasswords', () => redactUrlPasswords(megabyteOf(':@')));
  });
});

describe('log levels', () => {
  test('lines below the configured level are dropped', () => {
    const collector = new LogCollector();
    const logger = createLogger({ level: 'warn', destination: collector });
    logger.info('dropped');
    logger.warn('kept');
    expect(collector.entries().map((e) => e.msg)).toEqual(['kept']);
  });
});
