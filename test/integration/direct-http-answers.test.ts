import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { answerFromNode } from '../../activities/sources/direct-http';
import { BatchedFile } from '../../lib/batched-file';

/**
 * The direct source reads https bodies through Node's client (TLS cannot read into
 * the file's buffers): its chunks are copied into the file. Shown here over plain
 * http, which gives the same IncomingMessage.
 */
let dir: string;
let server: http.Server;
let port: number;
let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => undefined;
beforeAll(async () => {
  server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-answers-'))));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function get(): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => http.get(`http://127.0.0.1:${port}/f.mp4`, resolve).on('error', reject));
}

test('the body is copied into the file whole, every arrival counted', async () => {
  const data = crypto.randomBytes(3_000_000);
  handler = (_req, res) => res.end(data);
  const answer = answerFromNode(await get(), new URL(`http://127.0.0.1:${port}/f.mp4`));
  expect(answer.status).toBe(200);
  const out = path.join(dir, 'whole');
  const file = await BatchedFile.open(out, { append: false, batchBytes: 64 * 1024 });
  let counted = 0;
  await answer.saveTo(file, (n) => (counted += n));
  expect(await file.close()).toBeNull();
  expect(fs.readFileSync(out).equals(data)).toBe(true);
  expect(counted).toBe(data.length);
});

test('a full disk stops the body at once with ENOSPC, and discarding midway rejects with the reason given', async () => {
  handler = (_req, res) => {
    res.writeHead(200, { 'content-length': String(1 << 30) });
    const block = Buffer.alloc(1 << 16, 3);
    const more = () => {
      while (!res.destroyed && res.write(block));
    };
    res.on('drain', more);
    more();
  };
  const full = await BatchedFile.open('/dev/full', { append: false, batchBytes: 64 * 1024 });
  await expect(answerFromNode(await get(), new URL(`http://127.0.0.1:${port}/f.mp4`)).saveTo(full, () => undefined)).rejects.toMatchObject({
    code: 'ENOSPC',
  });
  expect((await full.close())?.code).toBe('ENOSPC');

  const answer = answerFromNode(await get(), new URL(`http://127.0.0.1:${port}/f.mp4`));
  const file = await BatchedFile.open(path.join(dir, 'discarded'), { append: false, batchBytes: 64 * 1024 });
  let counted = 0;
  const saving = answer.saveTo(file, (n) => {
    counted += n;
    if (counted > 1_000_000) answer.discard(new Error('too large'));
  });
  await expect(saving).rejects.toThrow('too large');
  expect(await file.close()).toBeNull();
});
