import crypto from 'node:crypto';
import { ChunkedDecoder, ProtocolError, parseHead } from '../../lib/http1-client';
import { expectLinearTime } from '../support/linear-time';

/** The plain-http client's parsing: chunked bodies decoded in place, response heads read strictly. */

/** A chunked encoding of `data`: uneven chunks, some with extensions, and a trailer. */
function chunked(data: Buffer, seed: number): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    const size = Math.min(data.length - at, 1 + ((seed * 31 + i * 977) % 5000));
    const extension = i % 3 === 0 ? ';name="value"' : '';
    parts.push(
      Buffer.from(`${i % 2 ? size.toString(16).toUpperCase() : size.toString(16)}${extension}\r\n`),
      data.subarray(at, at + size),
      Buffer.from('\r\n'),
    );
    at += size;
  }
  parts.push(Buffer.from('0\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Decodes `encoded` fed in pieces of the given sizes (cycled); the data it gave. */
function decodeInPieces(encoded: Buffer, sizes: number[]): { data: Buffer; done: boolean } {
  const decoder = new ChunkedDecoder();
  const out: Buffer[] = [];
  for (let at = 0, i = 0; at < encoded.length; i++) {
    const size = Math.min(sizes[i % sizes.length]!, encoded.length - at);
    const piece = Buffer.from(encoded.subarray(at, at + size)); // a read's own buffer, decoded in place
    const n = decoder.decode(piece, 0, piece.length);
    out.push(piece.subarray(0, n));
    at += size;
  }
  return { data: Buffer.concat(out), done: decoder.done };
}

test.each([
  ['in one piece', [1 << 30]],
  ['a byte at a time', [1]],
  ['in uneven pieces', [7, 1, 4096, 2, 333, 65_536]],
])('a chunked body decoded %s gives back every byte, and ends at the last chunk', (_name, sizes) => {
  const data = crypto.randomBytes(sizes[0] === 1 ? 20_000 : 300_000);
  const { data: decoded, done } = decodeInPieces(chunked(data, 5), sizes);
  expect(decoded.equals(data)).toBe(true);
  expect(done).toBe(true);
});

test('a chunked body decoded within a larger buffer keeps the bytes before its piece', () => {
  const encoded = Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
  const buffer = Buffer.concat([Buffer.from('KEEP'), encoded]);
  const n = new ChunkedDecoder().decode(buffer, 4, buffer.length);
  expect(buffer.subarray(0, 4 + n).toString()).toBe('KEEPhello world');
});

test('bytes after the last chunk and its trailers are not data', () => {
  const decoder = new ChunkedDecoder();
  const buffer = Buffer.from('3\r\nabc\r\n0\r\n\r\nGARBAGE');
  expect(buffer.subarray(0, decoder.decode(buffer, 0, buffer.length)).toString()).toBe('abc');
  expect(decoder.done).toBe(true);
});

test.each([
  ['a size that is not hex', 'zz\r\nabc\r\n'],
  ['a chunk without a size', '\r\nabc\r\n'],
  ['a chunk longer than its size', '3\r\nabcd\r\n'],
  ['a size too large to be real', 'fffffffffffffffff\r\n'],
  ['an endless chunk-size line', `5;${'x'.repeat(5000)}\r\n`],
  ['endless trailers', `0\r\n${'X-A: b\r\n'.repeat(3000)}`],
])('%s is refused', (_name, text) => {
  const buffer = Buffer.from(text);
  expect(() => new ChunkedDecoder().decode(buffer, 0, buffer.length)).toThrow(ProtocolError);
});

test('a response head: status, lower-case names, repeated headers joined', () => {
  const head = parseHead(
    'HTTP/1.1 206 Partial Content\r\nContent-Type: video/mp4\r\nX-A: 1\r\nx-a:2\r\nContent-Length:  10 \r\nContent-Length: 10',
  );
  expect(head).toEqual({ status: 206, headers: { 'content-type': 'video/mp4', 'x-a': '1, 2', 'content-length': '10' } });
  expect(parseHead('HTTP/1.0 200').status).toBe(200);
});

test.each([
  ['not HTTP', 'SSH-2.0-OpenSSH'],
  ['HTTP/2 text', 'HTTP/2 200 OK'],
  ['a folded header line', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  continued'],
  ['a line without a colon', 'HTTP/1.1 200 OK\r\nnonsense'],
  ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 5'],
  ['two different Content-Lengths', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6'],
])('a head with %s is refused', (_name, text) => {
  expect(() => parseHead(text)).toThrow(ProtocolError);
});

test("a repeated single-value header keeps its first value, as Node's client does; a header named like an object's property is a header", () => {
  const head = parseHead(
    'HTTP/1.1 302 Found\r\nLocation: /a.mp4\r\nLocation: /b.mp4\r\nETag: "x"\r\nETag: "y"\r\nContent-Type: video/mp4\r\nContent-Type: text/html\r\nconstructor: c\r\ntoString: t',
  );
  expect(head.headers.location).toBe('/a.mp4');
  expect(head.headers.etag).toBe('"x"');
  expect(head.headers['content-type']).toBe('video/mp4');
  expect(head.headers.constructor).toBe('c');
  expect(head.headers.tostring).toBe('t');
});

test('a value with long runs of spaces and tabs is trimmed around it and kept inside', () => {
  const spaces = ' \t'.repeat(15_000);
  const head = parseHead(`HTTP/1.1 200 OK\r\nX-Pad:${spaces}a${spaces}b${spaces}`);
  expect(head.headers['x-pad']).toBe(`a${spaces}b`);
  // A head as large as one is let be (32 KB) of spaces inside a value: a backtracking trim takes seconds.
  const hostile = `HTTP/1.1 200 OK\r\nX-Pad: a${' '.repeat(32_000)}b`;
  expectLinearTime('parseHead', () => parseHead(hostile), 50);
});
