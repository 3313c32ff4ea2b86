import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { BatchedFile } from '../../lib/batched-file';
import { Http1Exchange, ProtocolError, type Http1Options } from '../../lib/http1-client';

/**
 * The plain-http client against real loopback servers: Node's own http server for
 * what servers send, and a raw TCP server for what they should not.
 */
let dir: string;
const servers: net.Server[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-http1-'));
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  // Keep-alive connections would hold close() up: every test's connections end with it.
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  }) as typeof server.close;
  return (server.address() as net.AddressInfo).port;
}

/** A raw server: each connection gets `answer` (after reading the request head). */
async function rawServer(answer: (socket: net.Socket, request: string) => void): Promise<number> {
  return listen(
    net.createServer((socket) => {
      let head = '';
      socket.on('data', function onData(d: Buffer) {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        answer(socket, head);
      });
      socket.on('error', () => undefined);
    }),
  );
}

function options(overrides: Partial<Http1Options> = {}): Http1Options {
  return { method: 'GET', headers: {}, signal: new AbortController().signal, timeoutMs: 10_000, ...overrides };
}

/** GETs the URL into a fresh file; the bytes it holds, the arrivals counted, and the exchange. */
async function fetchToFile(url: string, batchBytes = 16 * 1024, extra: Partial<Http1Options> = {}) {
  const exchange = await Http1Exchange.open(new URL(url), options(extra));
  const out = path.join(dir, `out-${crypto.randomUUID()}`);
  const file = await BatchedFile.open(out, { append: false, batchBytes });
  let counted = 0;
  let error: unknown = null;
  await exchange.saveTo(file, (n) => (counted += n)).catch((err: unknown) => (error = err));
  const closeError = await file.close();
  return { exchange, bytes: fs.readFileSync(out), counted, error, closeError };
}

test('a body framed by Content-Length arrives whole, through small batches (reading stops and resumes for the disk)', async () => {
  const data = crypto.randomBytes(5_000_000);
  let request = '';
  const port = await rawServer((socket, head) => {
    request = head;
    socket.write(`HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: ${data.length}\r\n\r\n`);
    socket.end(data);
  });
  const { exchange, bytes, counted, error } = await fetchToFile(`http://127.0.0.1:${port}/a/b.mp4?x=1`, 4096, {
    headers: { range: 'bytes=0-', 'user-agent': 'mediadl' },
  });
  expect(error).toBeNull();
  expect(exchange.status).toBe(200);
  expect(exchange.headers['content-type']).toBe('video/mp4');
  expect(bytes.equals(data)).toBe(true);
  expect(counted).toBe(data.length);
  expect(request).toMatch(/^GET \/a\/b\.mp4\?x=1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
  expect(request).toContain('\r\nrange: bytes=0-\r\n');
  expect(request).toContain('\r\nConnection: close\r\n\r\n');
});

test("a chunked body from Node's own server arrives whole", async () => {
  const data = crypto.randomBytes(3_000_000);
  const port = await listen(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'video/webm' }); // no length: Node sends it chunked
      for (let at = 0; at < data.length; at += 70_001) res.write(data.subarray(at, at + 70_001));
      res.end();
    }),
  );
  const { exchange, bytes, error } = await fetchToFile(`http://127.0.0.1:${port}/v.webm`);
  expect(error).toBeNull();
  expect(exchange.headers['transfer-encoding']).toBe('chunked');
  expect(bytes.equals(data)).toBe(true);
});

test('a body without a length ends with the connection', async () => {
  const data = crypto.randomBytes(200_000);
  const port = await rawServer((socket) =>
    socket.end(Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n'), data])),
  );
  const whole = await fetchToFile(`http://127.0.0.1:${port}/a.mp3`);
  expect(whole.error).toBeNull();
  expect(whole.bytes.equals(data)).toBe(true);
});

test('a connection that ends before Content-Length is reached fails as a reset, keeping what arrived', async () => {
  const port = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + 'x'.repeat(300)));
  const { bytes, error } = await fetchToFile(`http://127.0.0.1:${port}/cut.mp4`);
  expect(error).toMatchObject({ code: 'ECONNRESET' });
  expect(bytes.toString()).toBe('x'.repeat(300));
});

test('interim answers (103 Early Hints) are skipped for the real one', async () => {
  const port = await rawServer((socket) =>
    socket.end('HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\nHTTP/1.1 206 Partial Content\r\nContent-Length: 2\r\n\r\nok'),
  );
  const { exchange, bytes } = await fetchToFile(`http://127.0.0.1:${port}/e.mp4`);
  expect(exchange.status).toBe(206);
  expect(bytes.toString()).toBe('ok');
});

test.each([
  ['a head that is not HTTP', (s: net.Socket) => s.end('SSH-2.0-OpenSSH_9\r\n\r\n'), /not an HTTP\/1\.1 answer/],
  ['a head that never ends', (s: net.Socket) => s.write(`HTTP/1.1 200 OK\r\n${'X-Pad: y\r\n'.repeat(5000)}`), /larger than/],
  ['a length that is not a number', (s: net.Socket) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n'), /not a number/],
  ['no answer at all', (s: net.Socket) => s.end(), /without a complete answer/],
])('%s is refused as a protocol error', async (_name, answer, message) => {
  const port = await rawServer(answer);
  const opened = Http1Exchange.open(new URL(`http://127.0.0.1:${port}/x.mp4`), options());
  await expect(opened).rejects.toThrow(ProtocolError);
  await expect(opened).rejects.toThrow(message);
});

test('a header value that would start another header is refused before connecting', async () => {
  let connections = 0;
  const port = await listen(net.createServer((s) => (connections++, s.destroy())));
  await expect(
    Http1Exchange.open(new URL(`http://127.0.0.1:${port}/x.mp4`), options({ headers: { 'if-range': '"a"\r\nX-Evil: 1' } })),
  ).rejects.toThrow(/cannot be sent/);
  expect(connections).toBe(0);
});

test('the lookup it is given decides where a name connects, and the Host header keeps the name', async () => {
  let request = '';
  const port = await rawServer((socket, head) => ((request = head), socket.end('HTTP/1.1 204 No Content\r\n\r\n')));
  const looked: string[] = [];
  const lookup: Http1Options['lookup'] = (hostname, opts, callback) => {
    looked.push(hostname);
    const done = callback as (err: Error | null, address: string | { address: string; family: number }[], family?: number) => void;
    if (opts.all) done(null, [{ address: '127.0.0.1', family: 4 }]);
    else done(null, '127.0.0.1', 4);
  };
  const exchange = await Http1Exchange.open(new URL(`http://media.example:${port}/n.mp4`), options({ lookup }));
  expect(exchange.status).toBe(204);
  expect(looked).toEqual(['media.example']);
  expect(request).toContain(`\r\nHost: media.example:${port}\r\n`);
  exchange.destroy();

  // A lookup that refuses: the connection is never made, and its error is the one reported.
  const refusing: Http1Options['lookup'] = (_h, _o, callback) => (callback as (err: Error) => void)(new Error('refused by policy'));
  await expect(Http1Exchange.open(new URL(`http://other.example:${port}/n.mp4`), options({ lookup: refusing }))).rejects.toThrow(
    'refused by policy',
  );
});

test('aborted midway: the body stops with the abort, and what arrived stays in the file', async () => {
  const port = await rawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n');
    socket.write(Buffer.alloc(50_000, 1)); // then nothing: a stalled transfer
  });
  const controller = new AbortController();
  const exchange = await Http1Exchange.open(new URL(`http://127.0.0.1:${port}/slow.mp4`), options({ signal: controller.signal }));
  const out = path.join(dir, 'aborted');
  const file = await BatchedFile.open(out, { append: false, batchBytes: 1 << 20 });
  let counted = 0;
  const saving = exchange.saveTo(file, (n) => (counted += n));
  const deadline = Date.now() + 5_000;
  while (counted < 50_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  await expect(saving).rejects.toThrow();
  expect(await file.close()).toBeNull();
  expect(fs.readFileSync(out)).toEqual(Buffer.alloc(50_000, 1));
});

test('a server that stops sending is given up after the timeout', async () => {
  const port = await rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
  const { error, bytes } = await fetchToFile(`http://127.0.0.1:${port}/stall.mp4`, 1024, { timeoutMs: 300 });
  expect(error).toMatchObject({ code: 'ETIMEDOUT' });
  expect(bytes.toString()).toBe('abc');
});

test('a full disk stops the transfer at once with ENOSPC, while the server is still sending', async () => {
  const port = await rawServer((socket) => {
    socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n');
    const block = Buffer.alloc(1 << 16, 9);
    const more = () => {
      while (!socket.destroyed && socket.write(block));
    };
    socket.on('drain', more);
    more();
  });
  const exchange = await Http1Exchange.open(new URL(`http://127.0.0.1:${port}/big.mp4`), options());
  const file = await BatchedFile.open('/dev/full', { append: false, batchBytes: 64 * 1024 });
  await expect(exchange.saveTo(file, () => undefined)).rejects.toMatchObject({ code: 'ENOSPC' });
  expect((await file.close())?.code).toBe('ENOSPC');
});

test('a body is read once: a second saveTo, or one after destroy, is refused', async () => {
  const port = await rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  const { exchange } = await fetchToFile(`http://127.0.0.1:${port}/once.mp4`);
  const file = await BatchedFile.open(path.join(dir, 'again'), { append: false, batchBytes: 1024 });
  await expect(exchange.saveTo(file, () => undefined)).rejects.toThrow(/read already|stopped/);

  const destroyed = await Http1Exchange.open(new URL(`http://127.0.0.1:${port}/destroyed.mp4`), options());
  destroyed.destroy();
  await expect(destroyed.saveTo(file, () => undefined)).rejects.toThrow(/read already|stopped/);
  expect(await file.close()).toBeNull();
  expect(fs.statSync(path.join(dir, 'again')).size).toBe(0);
});

test.each([
  ['with a length', 'Content-Length: 9'],
  ['without a length (its end is seen once reading resumes)', 'Content-Type: video/mp4'],
])('a body %s that came whole with the head is kept, though the server left before it was asked for', async (_name, header) => {
  const port = await rawServer((socket) => socket.end(`HTTP/1.1 200 OK\r\n${header}\r\n\r\nall of it`));
  const exchange = await Http1Exchange.open(new URL(`http://127.0.0.1:${port}/whole.mp4`), options());
  await new Promise((r) => setTimeout(r, 100)); // the server has closed the connection by now
  const out = path.join(dir, 'whole');
  const file = await BatchedFile.open(out, { append: false, batchBytes: 1024 });
  await exchange.saveTo(file, () => undefined);
  expect(await file.close()).toBeNull();
  expect(fs.readFileSync(out, 'utf8')).toBe('all of it');
});

test('a server that sends interim answers without end is refused', async () => {
  const port = await rawServer((socket) => socket.write('HTTP/1.1 100 Continue\r\n\r\n'.repeat(20)));
  await expect(Http1Exchange.open(new URL(`http://127.0.0.1:${port}/x.mp4`), options())).rejects.toThrow(/interim answers/);
});
