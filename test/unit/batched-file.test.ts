import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BatchedFile } from '../../lib/batched-file';

/** The direct source's file: bytes gathered into batches, every byte in order, a failed write reported. */
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

/** Appends every chunk, writes what is held and closes: the close's error, if any. */
async function writeAll(file: BatchedFile, parts: Buffer[]): Promise<NodeJS.ErrnoException | null> {
  for (const part of parts) await file.append(part);
  return file.close();
}

test.each([
  ['nothing', 0, 4096],
  ['less than one batch', 1000, 4096],
  ['exactly one batch', 4096, 4096],
  ['many batches of uneven chunks', 3_000_000, 65_536],
  ['chunks bigger than a batch', 500_000, 1024],
])('%s: the file holds every byte in order', async (_name, total, batchBytes) => {
  const parts = chunks(total, total % 97);
  const out = path.join(dir, 'out.part');
  expect(await writeAll(await BatchedFile.open(out, { append: false, batchBytes }), parts)).toBeNull();
  expect(fs.readFileSync(out).equals(Buffer.concat(parts))).toBe(true);
});

test('a reader can put bytes straight into its buffer (space, then commit), mixed with copied chunks', async () => {
  const out = path.join(dir, 'out.part');
  const file = await BatchedFile.open(out, { append: false, batchBytes: 1000 });
  const expected: Buffer[] = [];
  for (let i = 0; i < 50; i++) {
    const room = file.space() ?? (await file.whenSpace(), file.space()!);
    // A read fills part of the room it is given (never more).
    const n = Math.min(room.length, 1 + ((i * 331) % 700));
    const bytes = crypto.randomBytes(n);
    bytes.copy(room);
    file.commit(n);
    expected.push(bytes);
    const copied = crypto.randomBytes(1 + ((i * 97) % 300));
    await file.append(copied);
    expected.push(copied);
  }
  expect(await file.close()).toBeNull();
  expect(fs.readFileSync(out).equals(Buffer.concat(expected))).toBe(true);
});

test('append keeps what the file held (a resumed download) and adds the rest after it', async () => {
  const out = path.join(dir, 'out.part');
  const head = crypto.randomBytes(123_456);
  fs.writeFileSync(out, head);
  const rest = chunks(2_000_000, 3);
  expect(await writeAll(await BatchedFile.open(out, { append: true, batchBytes: 100_000 }), rest)).toBeNull();
  expect(fs.readFileSync(out).equals(Buffer.concat([head, ...rest]))).toBe(true);

  // Without append, the file starts over.
  expect(await writeAll(await BatchedFile.open(out, { append: false, batchBytes: 100_000 }), [Buffer.from('new')])).toBeNull();
  expect(fs.readFileSync(out, 'utf8')).toBe('new');
});

test('a full disk is reported with ENOSPC at once, also while no more bytes arrive, and the file takes no more', async () => {
  // /dev/full refuses every write with ENOSPC, as a full disk does.
  const file = await BatchedFile.open('/dev/full', { append: false, batchBytes: 1024 });
  const heard = new Promise<NodeJS.ErrnoException>((resolve) => file.onFailure(resolve));
  expect(file.take(crypto.randomBytes(2048))).toBe(2048); // one full batch, written at once
  // Nothing else is written: the failure arrives anyway.
  expect((await heard).code).toBe('ENOSPC');
  expect(file.space()).toBeNull();
  expect(file.take(Buffer.from('more'))).toBe(0);
  await expect(file.whenSpace()).rejects.toMatchObject({ code: 'ENOSPC' });
  expect((await file.close())?.code).toBe('ENOSPC');
  // A listener that comes later hears of it too.
  await expect(new Promise((resolve) => file.onFailure(resolve))).resolves.toMatchObject({ code: 'ENOSPC' });

  // Appending until the disk says no.
  const other = await BatchedFile.open('/dev/full', { append: false, batchBytes: 4096 });
  let appendError: unknown = null;
  try {
    for (const part of chunks(100_000, 5)) await other.append(part);
  } catch (err) {
    appendError = err;
  }
  expect(appendError).toMatchObject({ code: 'ENOSPC' });
  expect((await other.close())?.code).toBe('ENOSPC');
});

test('closing writes the last, partial batch: its failure is what close reports', async () => {
  const file = await BatchedFile.open('/dev/full', { append: false, batchBytes: 4096 });
  expect(file.take(Buffer.from('tail'))).toBe(4);
  expect((await file.close())?.code).toBe('ENOSPC');
});

test('a folder that is not there fails the open', async () => {
  await expect(BatchedFile.open(path.join(dir, 'missing', 'out.part'), { append: false, batchBytes: 16 })).rejects.toMatchObject({
    code: 'ENOENT',
  });
});

test('at most two batches are held: while the first is on its way to disk, there is no more room until it is written', async () => {
  const out = path.join(dir, 'out.part');
  const file = await BatchedFile.open(out, { append: false, batchBytes: 1000 });
  // All in one tick, so the first batch's write cannot have finished.
  let accepted = 0;
  for (let i = 1; i <= 20; i++) {
    const taken = file.take(Buffer.alloc(400, i));
    accepted += taken;
    if (taken < 400) break;
  }
  expect(accepted).toBe(2000);
  expect(file.hasRoom).toBe(false);
  expect(file.space()).toBeNull();
  await file.whenSpace();
  expect(file.hasRoom).toBe(true);
  expect(file.space()?.length).toBe(1000);
  expect(await file.close()).toBeNull();
  const written = fs.readFileSync(out);
  expect(written.length).toBe(accepted);
  for (let at = 0; at < accepted; at++) expect(written[at]).toBe(Math.floor(at / 400) + 1);
});

test('closed halfway (a cancelled download), it writes what it holds first: the next attempt resumes after it', async () => {
  const out = path.join(dir, 'out.part');
  const file = await BatchedFile.open(out, { append: false, batchBytes: 1000 });
  file.take(Buffer.alloc(1500, 7)); // a full batch: its write starts at once; and half of another
  expect(await file.close()).toBeNull();
  expect(fs.readFileSync(out)).toEqual(Buffer.alloc(1500, 7));
  // Closed, it takes nothing more.
  expect(file.space()).toBeNull();
  expect(file.take(Buffer.from('late'))).toBe(0);
  expect(fs.readFileSync(out)).toEqual(Buffer.alloc(1500, 7));
});

test('a slow source is not held back: what arrived is on disk after flushAfterMs though the batch is not full', async () => {
  const out = path.join(dir, 'out.part');
  const file = await BatchedFile.open(out, { append: false, batchBytes: 1_000_000, flushAfterMs: 50 });
  file.take(Buffer.alloc(100, 1));
  const deadline = Date.now() + 5_000;
  while (fs.statSync(out).size < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(fs.statSync(out).size).toBe(100);
  file.take(Buffer.alloc(50, 2));
  expect(await file.close()).toBeNull();
  expect(fs.readFileSync(out)).toEqual(Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(50, 2)]));
});

test('a timed flush while a reader holds room (a slow read) writes what came before and leaves the room to the reader', async () => {
  const out = path.join(dir, 'out.part');
  const file = await BatchedFile.open(out, { append: false, batchBytes: 1000, flushAfterMs: 20 });
  file.take(Buffer.alloc(100, 1));
  const room = file.space()!; // a socket read is under way into this room
  const deadline = Date.now() + 5_000;
  while (fs.statSync(out).size < 100 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  expect(fs.statSync(out).size).toBe(100);
  // The read lands where it was told to, after the flush: nothing is lost or written twice.
  room.fill(2, 0, 900);
  file.commit(900);
  file.take(Buffer.alloc(10, 3));
  expect(await file.close()).toBeNull();
  expect(fs.readFileSync(out)).toEqual(Buffer.concat([Buffer.alloc(100, 1), Buffer.alloc(900, 2), Buffer.alloc(10, 3)]));
});
