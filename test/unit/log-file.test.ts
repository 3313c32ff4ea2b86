import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLogFile } from '../../lib/log-file';
import { createLogger, LogCollector } from '../../lib/logger';

/** LOG_FILE: every line also goes to a file, scrubbed the same way, rotated by size with a bounded number of files. */
test('log lines go to the console and to the file, secrets scrubbed in both; the file rotates and keeps a bounded number', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-logfile-'));
  const secret = 'super-secret-token-value-123';
  const file = await openLogFile(path.join(dir, 'logs', 'worker.log'), { size: '1k', files: 3 });
  const console = new LogCollector();
  try {
    const logger = createLogger({ level: 'info', secrets: [secret], destination: console, file, name: 'worker' });
    for (let i = 0; i < 200; i++)
      logger.info({ i, url: `https://example.com/?token=${secret}` }, 'a line long enough to fill a kilobyte quickly');
    file.flushSync();
    // Rotation happens on the next write after the size is passed.
    await new Promise((r) => setTimeout(r, 200));
    logger.info('one more');
    file.flushSync();
    const names = fs.readdirSync(path.join(dir, 'logs'));
    const numbered = names.filter((n) => /^worker\.\d+\.log$/.test(n));
    expect(numbered.length).toBeGreaterThan(1);
    expect(numbered.length).toBeLessThanOrEqual(3);
    expect(names).toContain('current.log');
    const text = numbered.map((n) => fs.readFileSync(path.join(dir, 'logs', n), 'utf8')).join('');
    expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED]');
    for (const line of text.split('\n').filter(Boolean)) expect(JSON.parse(line)).toMatchObject({ name: 'worker' });
    expect(console.entries().length).toBe(201);
    expect(JSON.stringify(console.entries())).not.toContain(secret);
  } finally {
    file.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
