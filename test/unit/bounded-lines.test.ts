import { PassThrough } from 'node:stream';
import { readBoundedLines } from '../../lib/bounded-lines';

/** Feeds `chunks` through readBoundedLines and returns what it reported. */
async function linesOf(chunks: Array<string | Buffer>, maxChars: number): Promise<Array<[string, boolean]>> {
  const stream = new PassThrough();
  const lines: Array<[string, boolean]> = [];
  readBoundedLines(stream, maxChars, (line, truncated) => lines.push([line, truncated]));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  for (const chunk of chunks) stream.write(chunk);
  stream.end();
  await ended;
  return lines;
}

test('splits lines across chunks and drops a trailing carriage return', async () => {
  expect(await linesOf(['one\ntw', 'o\r\nthree'], 100)).toEqual([
    ['one', false],
    ['two', false],
    ['three', false],
  ]);
});

test('a line longer than the limit is cut, the excess dropped, and reading goes on', async () => {
  const huge = 'x'.repeat(1_000_000);
  const lines = await linesOf([`${huge.slice(0, 300_000)}`, `${huge.slice(300_000)}\nafter\n`], 1_000);
  expect(lines).toEqual([
    ['x'.repeat(1_000), true],
    ['after', false],
  ]);
});

test('a line of hundreds of megabytes without a newline holds only the limit in memory', async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  readBoundedLines(stream, 64 * 1024, (line) => lines.push(line));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  const chunk = Buffer.alloc(1024 * 1024, 'y');
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < 300; i++) stream.write(chunk); // 300 MB, one line
  stream.end('\nMEDIADL_RESULT {}\n');
  await ended;
  expect(lines.map((l) => l.length)).toEqual([64 * 1024, 'MEDIADL_RESULT {}'.length]);
  // Nowhere near the 300 MB it was sent (the chunks themselves are collected as garbage).
  expect(process.memoryUsage().heapUsed - before).toBeLessThan(100 * 1024 * 1024);
});

test('multi-byte characters split across chunks are decoded whole', async () => {
  const bytes = Buffer.from('héllo 🎵\n');
  expect(await linesOf([bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)], 100)).toEqual([['héllo 🎵', false]]);
});

test('a last line without a newline is still reported', async () => {
  expect(await linesOf(['a\nb'], 10)).toEqual([
    ['a', false],
    ['b', false],
  ]);
});
