import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { AttemptRecord } from '../domain/monitoring/attempts';
import type { Logger } from '../lib/logger';

/** Attempts written by one statement. */
const BATCH = 1_000;
/** How often an outage of the database is logged again at warn level while it lasts. */
const WARN_EVERY_MS = 5 * 60_000;

/** Where download attempts go: `record` never throws and never waits on the database. */
export interface AttemptSink {
  record(attempt: AttemptRecord): void;
}

export interface AttemptJournalOptions {
  /** MONITOR_JOURNAL_DIR: attempts wait here, one JSON line each, until PostgreSQL has them. */
  dir: string;
  logger: Logger;
  /** Writes a batch to the database (idempotent: a batch may be written again after a failure). */
  store(attempts: AttemptRecord[]): Promise<void>;
  /** Called after a batch is stored (alerts are decided here); its failures are logged, never retried. */
  afterStore?(attempts: AttemptRecord[]): Promise<void>;
  /** Called for every attempt as it is recorded (metrics). */
  observe?(attempt: AttemptRecord): void;
  /** Longest wait between tries while the database is down. */
  maxRetryMs?: number;
}

/**
 * Download attempts on their way to PostgreSQL. Each is first appended to a
 * journal file of this process, so that neither an outage of PostgreSQL nor a
 * crash of the worker loses it; a background flush moves the journal to the
 * database in batches, retrying with backoff while it is down, and removes
 * what is stored. A worker that starts takes over the journals that workers on
 * this machine left behind when they died. If even the journal cannot be
 * written (a full disk), the attempt waits in memory.
 */
export class AttemptJournal implements AttemptSink {
  private readonly base = `attempts-${os.hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-${process.pid}`;
  private readonly file: string;
  private inMemory: AttemptRecord[] = [];
  private appending: Promise<void> = Promise.resolve();
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private warnedAt = 0;
  private stopped = false;

  constructor(private readonly o: AttemptJournalOptions) {
    this.file = path.join(o.dir, `${this.base}.jsonl`);
  }

  /** Creates the folder and takes over journals left by dead workers on this machine; flushes them. */
  async start(): Promise<void> {
    await fs.mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
    for (const name of await fs.readdir(this.o.dir)) {
      const match = /^attempts-(.+)-(\d+)\.jsonl(\.\w+\.flushing)?$/.exec(name);
      if (!match || match[1] !== host || Number(match[2]) === process.pid || alive(Number(match[2]))) continue;
      await fs.rename(path.join(this.o.dir, name), this.claimName()).catch(() => undefined);
    }
    this.schedule(0);
  }

  record(attempt: AttemptRecord): void {
    try {
      this.o.observe?.(attempt);
    } catch (err) {
      this.o.logger.warn({ err }, 'could not count a download attempt in the metrics');
    }
    // Appends run one after another, so the journal keeps the order attempts ended in.
    this.appending = this.appending.then(() =>
      // Each line starts with a newline too: after a write cut short (a full disk), the
      // next attempt starts on a line of its own instead of being glued to the broken one.
      fs.appendFile(this.file, `\n${JSON.stringify(attempt)}\n`, { mode: 0o600 }).catch((err: unknown) => {
        this.o.logger.warn({ err, dir: this.o.dir }, 'download attempt kept in memory: its journal cannot be written');
        this.inMemory.push(attempt);
      }),
    );
    void this.appending.then(() => this.schedule(0));
  }

  /** Moves everything journaled so far to the database; resolves when done or when the database refused (a retry is scheduled). */
  flush(): Promise<void> {
    // A flush under way has already taken its files: what was recorded since needs another one.
    if (this.flushing) return this.flushing.then(() => this.flush());
    const run = this.flushOnce();
    this.flushing = run.finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Attempts not yet in the database (for tests and the shutdown log line). */
  async backlog(): Promise<number> {
    await this.appending;
    let lines = this.inMemory.length;
    for (const file of await this.journalFiles()) lines += (await readLines(file)).length;
    return lines;
  }

  /** Flushes once more (bounded by `deadlineMs`) and stops retrying; what is left stays in the journal for the next start. */
  async stop(deadlineMs = 5_000): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.race([this.flush(), new Promise((resolve) => setTimeout(resolve, deadlineMs).unref())]);
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const left = await this.backlog().catch(() => 0);
    if (left > 0)
      this.o.logger.warn({ left, dir: this.o.dir }, 'download attempts not yet in the database stay in the journal for the next start');
  }

  /** A name no other claimed file has (a rename onto an existing name would replace it, losing its lines). */
  private claimName(): string {
    return `${this.file}.${Date.now()}${randomBytes(6).toString('hex')}.flushing`;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delayMs);
    this.timer.unref();
  }

  private async journalFiles(): Promise<string[]> {
    const names = await fs.readdir(this.o.dir).catch(() => [] as string[]);
    return names
      .filter((n) => n.startsWith(`${this.base}.jsonl`))
      .sort()
      .map((n) => path.join(this.o.dir, n));
  }

  /**
   * Stores at most BATCH attempts per statement. When a batch fails but some of
   * its rows can be stored one by one, the database is up and refuses only
   * those rows: they are answered as rejected, so one bad row cannot hold back
   * every later attempt. When none can, it throws (an outage; retried later).
   * A row refused once is tried again after the others: as a database comes
   * back, the first statement can fail on a connection that died in the outage.
   */
  private async storeInBatches(attempts: AttemptRecord[]): Promise<AttemptRecord[]> {
    const rejected: AttemptRecord[] = [];
    for (let at = 0; at < attempts.length; at += BATCH) {
      const batch = attempts.slice(at, at + BATCH);
      try {
        await this.o.store(batch);
      } catch (err) {
        if (batch.length === 1) throw err;
        const refused: AttemptRecord[] = [];
        for (const one of batch) await this.o.store([one]).catch(() => refused.push(one));
        if (refused.length === batch.length) throw err;
        for (const one of refused) await this.o.store([one]).catch(() => rejected.push(one));
      }
    }
    return rejected;
  }

  private async flushOnce(): Promise<void> {
    // New attempts go to a fresh journal while this one is stored. The rename
    // waits its turn behind appends, so no line is written into a file being read.
    const renamed = this.appending.then(() => fs.rename(this.file, this.claimName()).catch(() => undefined));
    this.appending = renamed;
    await renamed;
    const files = (await this.journalFiles()).filter((f) => f.endsWith('.flushing'));
    const fromMemory = this.inMemory.slice();
    const attempts: AttemptRecord[] = [...fromMemory];
    for (const file of files) {
      for (const line of await readLines(file)) {
        try {
          attempts.push(JSON.parse(line) as AttemptRecord);
        } catch {
          this.o.logger.warn({ file }, 'an unreadable line in the attempt journal was skipped');
        }
      }
    }
    if (attempts.length === 0) return;
    let rejected: AttemptRecord[];
    try {
      rejected = await this.storeInBatches(attempts);
    } catch (err) {
      this.failures += 1;
      const delay = Math.min(this.o.maxRetryMs ?? 60_000, 500 * 2 ** Math.min(this.failures, 10));
      // A warning when the outage starts and every few minutes while it lasts, with the backlog.
      const now = Date.now();
      const warn = this.failures === 1 || now - this.warnedAt >= WARN_EVERY_MS;
      if (warn) this.warnedAt = now;
      this.o.logger[warn ? 'warn' : 'debug'](
        { err, waiting: attempts.length, retryInMs: delay },
        'download attempts wait for the database',
      );
      this.schedule(delay);
      return;
    }
    if (rejected.length > 0) {
      // Kept for an operator, out of the way of the rest.
      await fs
        .appendFile(path.join(this.o.dir, `${this.base}.rejected.jsonl`), rejected.map((a) => `${JSON.stringify(a)}\n`).join(''), {
          mode: 0o600,
        })
        .catch(() => undefined);
      this.o.logger.error(
        { rejected: rejected.length, dir: this.o.dir },
        'the database refused some download attempts; they are kept in a .rejected.jsonl file',
      );
    }
    if (this.failures > 0) this.o.logger.info({ stored: attempts.length }, 'the database is back: waiting download attempts are stored');
    this.failures = 0;
    this.inMemory = this.inMemory.slice(fromMemory.length);
    await Promise.all(files.map((f) => fs.rm(f, { force: true })));
    try {
      await this.o.afterStore?.(attempts.filter((a) => !rejected.includes(a)));
    } catch (err) {
      this.o.logger.error({ err }, 'could not check downloader health after recording attempts');
    }
  }
}

async function readLines(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
