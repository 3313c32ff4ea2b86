import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BatchedFileWriter } from '../../lib/batched-file-writer';

/** The direct source's file writer: chunks gathered into batches, every byte in order, errors fail the stream. */
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-batched-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Random chunks of uneven sizes, as a socket delivers them. */
function chunks(total: number, seed: number): Buffer[] {
  const out: Buffer[] = [];
  let left = total;
  for (let i = 0; left > 0; i++) {
    const size = Math.min(left, 1 + ((seed * 7919 + i * 104_729) % 70_000));
    out.push(crypto.randomBytes(size));
    left -= size;
  }
  return out;
}

test.each([
  ['nothing', 0, 4096],
  ['less than one batch', 1000, 4096],
  ['exactly one batch', 4096, 4096],
  ['many batches of uneven chunks', 3_000_000, 65_536],
  ['chunks bigger than a batch', 500_000, 1024],
])('%s: the file holds every byte in order', async (_name, total, batchBytes) => {
  const parts = chunks(total, total % 97);
  const file = path.join(dir, 'out.part');
  await pipeline(Readable.from(parts), new BatchedFileWriter(file, { append: false, batchBytes }));
  expect(fs.readFileSync(file).equals(Buffer.concat(parts))).toBe(true);
});

test('append keeps what the file held (a resumed download) and adds the rest after it', async () => {
  const file = path.join(dir, 'out.part');
  const head = crypto.randomBytes(123_456);
  fs.writeFileSync(file, head);
  const rest = chunks(2_000_000, 3);
  await pipeline(Readable.from(rest), new BatchedFileWriter(file, { append: true, batchBytes: 100_000 }));
  expect(fs.readFileSync(file).equals(Buffer.concat([head, ...rest]))).toBe(true);

  // Without append, the file starts over.
  await pipeline(Readable.from([Buffer.from('new')]), new BatchedFileWriter(file, { append: false, batchBytes: 100_000 }));
  expect(fs.readFileSync(file, 'utf8')).toBe('new');
});

test('a full disk fails the stream with ENOSPC, also while no more chunks arrive', async () => {
  // /dev/full refuses every write with ENOSPC, as a full disk does.
  const writer = new BatchedFileWriter('/dev/full', { append: false, batchBytes: 1024 });
  const failed = new Promise<NodeJS.ErrnoException>((resolve) => writer.on('error', resolve));
  writer.write(crypto.randomBytes(2048)); // one full batch, written at once
  // Nothing else is written: the error arrives anyway, and the stream is destroyed.
  expect((await failed).code).toBe('ENOSPC');
  expect(writer.destroyed).toBe(true);

  await expect(
    pipeline(Readable.from(chunks(100_000, 5)), new BatchedFileWriter('/dev/full', { append: false, batchBytes: 4096 })),
  ).rejects.toMatchObject({
    code: 'ENOSPC',
  });
  // The end of a stream flushes the last, partial batch: its failure is reported too.
  await expect(
    pipeline(Readable.from([Buffer.from('tail')]), new BatchedFileWriter('/dev/full', { append: false, batchBytes: 4096 })),
  ).rejects.toMatchObject({
    code: 'ENOSPC',
  });
});

test('stopped by another error while what it holds cannot be written for a full disk: the full disk is reported', async () => {
  const writer = new BatchedFileWriter('/dev/full', { append: false, batchBytes: 1000 });
  await new Promise((r) => writer.once('ready', r));
  const reported = new Promise<NodeJS.ErrnoException>((resolve) => writer.on('error', resolve));
  writer.write(Buffer.alloc(500, 1)); // held: less than a batch
  writer.destroy(new Error('the connection ended early'));
  expect((await reported).code).toBe('ENOSPC');
});

test('a folder that is not there fails the stream when it opens', async () => {
  await expect(
    pipeline(
      Readable.from([Buffer.from('x')]),
      new BatchedFileWriter(path.join(dir, 'missing', 'out.part'), { append: false, batchBytes: 16 }),
    ),
  ).rejects.toMatchObject({ code: 'ENOENT' });
});

test('at most two batches are held: while the first is on its way to disk, the stream soon asks its source to wait', async () => {
  const file = path.join(dir, 'out.part');
  const writer = new BatchedFileWriter(file, { append: false, batchBytes: 1000 });
  await new Promise((r) => writer.once('ready', r));
  // All in one tick, so the first batch's write cannot have finished: the writer
  // takes one batch being written, one filling, and its own buffer, then says stop.
  let accepted = 0;
  for (let i = 1; i <= 20; i++) {
    accepted += 400;
    if (!writer.write(Buffer.alloc(400, i))) break;
  }
  expect(accepted).toBeLessThanOrEqual(3 * 1000 + 400);
  await new Promise<void>((resolve, reject) => writer.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const written = fs.readFileSync(file);
  expect(written.length).toBe(accepted);
  for (let at = 0; at < accepted; at += 400) expect(written[at]).toBe(at / 400 + 1);
});

test('destroyed halfway (a cancelled download), it writes what it holds and closes the file: the next attempt resumes after it', async () => {
  const file = path.join(dir, 'out.part');
  const writer = new BatchedFileWriter(file, { append: false, batchBytes: 1000 });
  await new Promise((r) => writer.once('ready', r));
  const closed = new Promise((r) => writer.on('close', r));
  writer.on('error', () => undefined);
  writer.write(Buffer.alloc(1500, 7)); // a full batch: its write starts at once
  writer.write(Buffer.alloc(500, 8)); // an unfinished batch
  writer.destroy(new Error('cancelled'));
  await closed;
  expect(fs.readFileSync(file)).toEqual(Buffer.concat([Buffer.alloc(1500, 7), Buffer.alloc(500, 8)]));
});

test('a slow source is not held back: what arrived is on disk after flushAfterMs though the batch is not full', async () => {
  const file = path.join(dir, 'out.part');
  const writer = new BatchedFileWriter(file, { append: false, batchBytes: 1_000_000, flushAfterMs: 50 });
  await new Promise((r) => writer.once('ready', r));
  writer.write(Buffer.alloc(100, 1));
  const deadline = Date.now() + 5_000;
  while (fs.statSync(file).size < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(fs.statSync(file).size).toBe(100);
  expect(writer.writableFinished).toBe(false);
  writer.write(Buffer.alloc(50, 2));
  await new Promise<void>((resolve, reject) => writer.end((err?: Error | null) => (err ? reject(err) : resolve())));
  expect(fs.readFileSync(file)).toEqual(Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(50, 2)]));
});
