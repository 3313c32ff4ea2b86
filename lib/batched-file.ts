import fsp from 'node:fs/promises';

/** Buffers a file keeps: one filling while the other is written. */
const BUFFERS = 2;

/**
 * A file written in large batches, for fast sources: bytes are gathered in a
 * buffer of `batchBytes` and each full buffer is written with one system call
 * while a second buffer fills.
 *
 * Two ways in:
 * - `space()` and `commit(n)`: a reader puts bytes straight into the buffer
 *   (a socket reading into it: no copy and no allocation per read);
 * - `take(chunk)` and `append(chunk)`: a chunk from elsewhere is copied in.
 *
 * Why not fs.createWriteStream: it hands nearly every chunk to the thread pool
 * on its own, which at loopback speed costs more CPU than the transfer itself.
 * Why two reused buffers: a chunk kept until its batch is written outlives the
 * young generation, and a worker with a big heap then runs full garbage
 * collections every few dozen megabytes to free them.
 *
 * - Backpressure: while both buffers are full (one being written, one waiting),
 *   `space()` is null and `take()` takes nothing; `whenSpace()` says when to go on.
 * - A slow source is not held back: what has arrived is written after
 *   `flushAfterMs` even when the buffer is not full, so a partial file stays
 *   close to what was received (a killed worker resumes from there).
 * - `close()` writes what the file holds first, whatever stopped the transfer:
 *   those bytes arrived in order, and the next attempt resumes after them.
 * - The first failed write (a full disk) is kept: the file takes no more bytes,
 *   `onFailure` listeners hear of it at once, and `close()` reports it.
 */
export class BatchedFile {
  /** Buffers not in use; at most BUFFERS are ever allocated, the first when data arrives. */
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private current: Buffer | null = null;
  private filled = 0;
  /** Bytes of `current` already queued for writing (by a timed flush); the rest of it may still be filling. */
  private queued = 0;
  /** Writes queued and not yet done, oldest first; they run one after another. */
  private readonly writes: Promise<void>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private failureListeners: ((err: NodeJS.ErrnoException) => void)[] = [];
  /** The first write that failed, if one did. */
  failure: NodeJS.ErrnoException | null = null;

  private constructor(
    private readonly handle: fsp.FileHandle,
    private readonly options: { batchBytes: number; flushAfterMs?: number },
  ) {}

  /** Opens (append: adds to what the file holds, else starts it over). */
  static async open(file: string, options: { append: boolean; batchBytes: number; flushAfterMs?: number }): Promise<BatchedFile> {
    return new BatchedFile(await fsp.open(file, options.append ? 'a' : 'w'), options);
  }

  /** Whether `space()` would give room now (without taking a buffer for it). */
  get hasRoom(): boolean {
    return !this.failure && !this.closed && (this.current !== null || this.free.length > 0 || this.allocated < BUFFERS);
  }

  /** Free room in the buffer being filled, or null while both buffers are full (or the file failed or closed). */
  space(): Buffer | null {
    if (!this.hasRoom) return null;
    if (!this.current) {
      const next = this.free.pop() ?? (this.allocated < BUFFERS ? this.allocate() : null);
      if (!next) return null;
      this.current = next;
    }
    return this.current.subarray(this.filled);
  }

  /** `n` bytes were put at the start of the last `space()`. */
  commit(n: number): void {
    if (n <= 0) return;
    this.filled += n;
    if (this.filled === this.current!.length) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.flushAfterMs ?? 200).unref();
  }

  /** Copies as much of `chunk[start, end)` as there is room for; how many bytes it took. */
  take(chunk: Uint8Array, start = 0, end = chunk.length): number {
    let taken = 0;
    for (let room = this.space(); room && start + taken < end; room = this.space()) {
      const n = Math.min(room.length, end - start - taken);
      room.set(chunk.subarray(start + taken, start + taken + n));
      taken += n;
      this.commit(n);
    }
    return taken;
  }

  /** Copies all of `chunk`, waiting for room when both buffers are full. */
  async append(chunk: Uint8Array): Promise<void> {
    for (let offset = this.take(chunk); offset < chunk.length; offset += this.take(chunk, offset)) await this.whenSpace();
  }

  /** Resolves when a buffer is free again; rejects with the failure once a write failed. */
  async whenSpace(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('the file is closed');
    await this.writes[0];
  }

  /** Calls `listener` once when a write fails (at once, even while no bytes arrive). */
  onFailure(listener: (err: NodeJS.ErrnoException) => void): void {
    if (this.failure) listener(this.failure);
    else this.failureListeners.push(listener);
  }

  /**
   * Writes what it holds and closes the file. Resolves with the error of a write
   * that failed (or of closing), else null: the caller decides what to report.
   */
  async close(): Promise<NodeJS.ErrnoException | null> {
    if (this.closed) return this.failure;
    this.flush();
    this.closed = true;
    await this.lastWrite().catch(() => undefined);
    try {
      await this.handle.close();
    } catch (err) {
      return this.failure ?? (err as NodeJS.ErrnoException);
    }
    return this.failure;
  }

  private lastWrite(): Promise<void> {
    return this.writes[this.writes.length - 1] ?? Promise.resolve();
  }

  private allocate(): Buffer {
    this.allocated++;
    return Buffer.allocUnsafeSlow(this.options.batchBytes);
  }

  /**
   * Queues what the current buffer holds and is not queued yet for writing, after
   * the writes before it. A full buffer is let go (it is free again once written);
   * one flushed early by the timer stays current, and its free room stays where
   * `space()` said: a read may be landing there.
   */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const buffer = this.current;
    if (!buffer || this.closed) return;
    const from = this.queued;
    const to = this.filled;
    const full = to === buffer.length;
    if (full) {
      this.current = null;
      this.filled = 0;
      this.queued = 0;
    } else if (to === from) return;
    else this.queued = to;
    const write: Promise<void> = this.lastWrite().then(async () => {
      if (this.failure) throw this.failure; // what follows a failed write is not written after a gap
      // A write may take less than asked (a disk filling up): the rest follows.
      for (let done = from; done < to;) {
        const { bytesWritten } = await this.handle.write(buffer, done, to - done);
        if (bytesWritten <= 0) throw new Error(`the file took no bytes (${done - from} of ${to - from} written)`);
        done += bytesWritten;
      }
      if (full) this.free.push(buffer);
    });
    this.writes.push(write);
    write.then(
      () => void this.writes.splice(this.writes.indexOf(write), 1),
      (err: NodeJS.ErrnoException) => {
        void this.writes.splice(this.writes.indexOf(write), 1);
        if (this.failure) return;
        this.failure = err;
        for (const listener of this.failureListeners.splice(0)) listener(err);
      },
    );
  }
}
