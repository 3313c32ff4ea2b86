import fsp from 'node:fs/promises';
import { Writable } from 'node:stream';

/** Buffers a writer keeps: one filling while the other is written. */
const BUFFERS = 2;
/** Write errors that say the disk is full, reported over whatever else stopped the stream. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A file write stream for fast sources: it copies incoming chunks (a socket's
 * 64 KB reads) into a buffer of `batchBytes` and writes each full buffer with
 * one system call, while a second buffer fills.
 *
 * Why not fs.createWriteStream: it hands nearly every chunk to the thread pool
 * on its own, which at loopback speed costs more CPU than the transfer itself.
 * Why copy rather than keep the chunks: a chunk kept until its batch is written
 * outlives the young generation, and a worker with a big heap then runs a full
 * garbage collection every few dozen megabytes to free them (measured in the
 * benchmark's worker: 8 mark-compacts per 200 MB, and the transfer 3x slower).
 * Copied, each chunk dies at once; the two buffers live as long as the download.
 *
 * - Backpressure: when both buffers are full (one being written, one waiting),
 *   the stream takes no more chunks until the first is on disk.
 * - A slow source is not held back: what has arrived is written after
 *   `flushAfterMs` even when the buffer is not full, so a partial file stays
 *   close to what was received (a killed worker resumes from there).
 * - Destroyed (a cancel, a pause, a failed connection), it still writes what
 *   it holds before closing the file: those bytes arrived in order, and the
 *   next attempt resumes after them.
 * - A failed write (ENOSPC...) fails the stream at once.
 */
export class BatchedFileWriter extends Writable {
  private handle: fsp.FileHandle | null = null;
  /** Buffers not in use; at most BUFFERS are ever allocated, the first when data arrives. */
  private readonly free: Buffer[] = [];
  private allocated = 0;
  private current: Buffer | null = null;
  private filled = 0;
  /** Writes queued and not yet done, oldest first; they run one after another. */
  private readonly writes: Promise<void>[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly file: string,
    private readonly options: { append: boolean; batchBytes: number; flushAfterMs?: number },
  ) {
    super({ highWaterMark: options.batchBytes });
  }

  override _construct(callback: (error?: Error | null) => void): void {
    fsp.open(this.file, this.options.append ? 'a' : 'w').then(
      (handle) => {
        this.handle = handle;
        callback();
        // As fs.WriteStream does once its file is open (the stream takes writes from the next tick).
        process.nextTick(() => this.emit('ready'));
      },
      (err: Error) => callback(err),
    );
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let offset = 0;
    const copy = (): void => {
      if (this.destroyed) return callback();
      while (offset < chunk.length) {
        if (!this.current) {
          const next = this.free.pop() ?? (this.allocated < BUFFERS ? this.allocate() : null);
          // Both buffers taken: go on when the oldest write is done and its buffer is back.
          if (!next) return void this.writes[0]!.then(copy, (err: Error) => callback(err));
          this.current = next;
        }
        const copied = chunk.copy(this.current, this.filled, offset);
        offset += copied;
        this.filled += copied;
        if (this.filled === this.current.length) this.flush();
      }
      if (this.filled > 0) this.timer ??= setTimeout(() => this.flush(), this.options.flushAfterMs ?? 200).unref();
      callback();
    };
    copy();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.flush();
    this.lastWrite().then(
      () => callback(),
      (err: Error) => callback(err),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.handle) this.flush();
    const handle = this.handle;
    // The writes under way finish (or fail) before the file is closed. A disk that
    // filled up while they did is what the caller hears of, whatever stopped the stream.
    let writeError: NodeJS.ErrnoException | null = null;
    this.lastWrite()
      .catch((err: NodeJS.ErrnoException) => void (writeError = err))
      .then(() => {
        this.handle = null;
        return handle?.close();
      })
      .then(
        () => callback(writeError && DISK_FULL.has(writeError.code ?? '') ? writeError : (error ?? writeError)),
        (closeError: Error) => callback(error ?? writeError ?? closeError),
      );
  }

  private lastWrite(): Promise<void> {
    return this.writes[this.writes.length - 1] ?? Promise.resolve();
  }

  private allocate(): Buffer {
    this.allocated++;
    return Buffer.allocUnsafeSlow(this.options.batchBytes);
  }

  /** Queues what the current buffer holds for writing, after the writes before it. */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const buffer = this.current;
    const length = this.filled;
    if (!buffer || length === 0 || !this.handle) return;
    this.current = null;
    this.filled = 0;
    const handle = this.handle!;
    const write: Promise<void> = this.lastWrite().then(async () => {
      // A write may take less than asked (a disk filling up): the rest follows.
      for (let done = 0; done < length;) {
        const { bytesWritten } = await handle.write(buffer, done, length - done);
        if (bytesWritten <= 0) throw new Error(`the file took no bytes (${done} of ${length} written)`);
        done += bytesWritten;
      }
      this.free.push(buffer);
    });
    this.writes.push(write);
    write.then(
      () => void this.writes.splice(this.writes.indexOf(write), 1),
      // A failed write fails the stream at once, even while no chunk is arriving.
      (err: Error) => this.destroy(err),
    );
  }
}
