import type { Readable } from 'node:stream';

/**
 * Calls `onLine` for every line of `stream`, holding at most `maxChars` of any
 * one line: the rest of an over-long line is dropped (the line is reported cut,
 * with `truncated`) and reading goes on. A child process printing a line of
 * hundreds of megabytes without a newline therefore costs us `maxChars`, not
 * its size. Lines end at "\n"; a trailing "\r" is removed.
 */
export function readBoundedLines(stream: Readable, maxChars: number, onLine: (line: string, truncated: boolean) => void): void {
  stream.setEncoding('utf8');
  let current = '';
  let truncated = false;
  const emit = () => {
    onLine(current.endsWith('\r') ? current.slice(0, -1) : current, truncated);
    current = '';
    truncated = false;
  };
  const take = (part: string) => {
    const room = maxChars - current.length;
    if (part.length <= room) current += part;
    else {
      current += part.slice(0, Math.max(0, room));
      truncated = true;
    }
  };
  stream.on('data', (chunk: string) => {
    let from = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', from)) {
      take(chunk.slice(from, nl));
      emit();
      from = nl + 1;
    }
    if (from < chunk.length) take(chunk.slice(from));
  });
  stream.on('end', () => {
    if (current.length > 0 || truncated) emit();
  });
}
