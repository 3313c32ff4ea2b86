import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Makes a short real video with ffmpeg (test pattern + tone), so no binary is committed. */
export async function generateClip(dir: string, name = 'clip.mp4', seconds = 2): Promise<string> {
  const file = path.join(dir, name);
  await run('ffmpeg', [
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc=duration=${seconds}:size=160x120:rate=15`,
    '-f',
    'lavfi',
    '-i',
    `sine=duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-c:a',
    'aac',
    '-shortest',
    file,
  ]);
  return file;
}

export interface MediaRoute {
  /** Fail this many requests with `failStatus` before serving the file. */
  failFirst?: number;
  failStatus?: number;
  status?: number;
  file?: string;
  /** Hold each response this long (ms) so a download stays running for a while. */
  delayMs?: number;
  /** Send the body at about this many bytes per second. */
  bytesPerSecond?: number;
  /** Send this many bytes of the body, then go silent with the connection open. */
  stallAfterBytes?: number;
  /** Stream the body without Content-Length (chunked) and refuse ranges, as live or generated streams do. */
  chunked?: boolean;
  /** The Content-Type sent (by default text/html for .html files, else video/mp4). */
  contentType?: string;
  /** Answer 302 with this Location instead of a body. */
  redirectTo?: string;
}

/**
 * An HTTP server on loopback serving generated media. Routes can fail a given
 * number of times first, answer 404, or be slow; every request is counted.
 */
export class MediaServer {
  readonly requests = new Map<string, number>();
  /** When each path was first asked for (epoch ms): the benchmark's "download started". */
  readonly firstRequestAt = new Map<string, number>();
  /** The first byte asked for by each ranged request (a resumed download asks for > 0). */
  readonly rangeStarts = new Map<string, number[]>();
  /** Body bytes written for each path, over all requests. */
  readonly bytesServed = new Map<string, number>();
  private server?: http.Server;
  private readonly routes = new Map<string, MediaRoute>();
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mediadl-media-'));
  private clip = '';

  async start(): Promise<void> {
    this.clip = await generateClip(this.dir);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  get clipSize(): number {
    return fs.statSync(this.clip).size;
  }

  get clipPath(): string {
    return this.clip;
  }

  route(pathname: string, route: MediaRoute = {}): string {
    this.routes.set(pathname, route);
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}${pathname}`;
  }

  /** Serves `body` (a page, a feed) at `pathname` with `contentType`. */
  page(pathname: string, body: string, contentType = 'text/html; charset=utf-8'): string {
    const file = path.join(this.dir, `page-${this.routes.size}-${path.basename(pathname) || 'index'}.txt`);
    fs.writeFileSync(file, body);
    return this.route(pathname, { file, contentType });
  }

  /** The origin this server answers on, e.g. http://127.0.0.1:41234. */
  get origin(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  count(pathname: string): number {
    return this.requests.get(pathname) ?? 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const pathname = (req.url ?? '/').split('?')[0]!;
    const n = (this.requests.get(pathname) ?? 0) + 1;
    this.requests.set(pathname, n);
    if (!this.firstRequestAt.has(pathname)) this.firstRequestAt.set(pathname, Date.now());
    const route = this.routes.get(pathname);
    if (!route || route.status === 404) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (route.failFirst && n <= route.failFirst) {
      res.writeHead(route.failStatus ?? 503, { 'content-type': 'text/plain' }).end('try again later');
      return;
    }
    if (route.redirectTo) {
      res.writeHead(302, { location: route.redirectTo, 'content-type': 'text/plain' }).end('moved');
      return;
    }
    if (route.delayMs) await new Promise((r) => setTimeout(r, route.delayMs));
    const file = route.file ?? this.clip;
    const size = fs.statSync(file).size;
    const contentType = route.contentType ?? (file.endsWith('.html') ? 'text/html; charset=utf-8' : 'video/mp4');
    const counted = (n: number) => this.bytesServed.set(pathname, (this.bytesServed.get(pathname) ?? 0) + n);
    const write = res.write.bind(res);
    res.write = ((chunk: Buffer | string, ...rest: unknown[]) => {
      counted(Buffer.byteLength(chunk));
      return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof res.write;
    if (route.chunked) {
      res.writeHead(200, { 'content-type': contentType });
      if (req.method === 'HEAD') return void res.end();
      return send(file, 0, size - 1, res, route);
    }
    // A strong validator, so a resumed download may ask for the rest with If-Range.
    const etag = `"${size}-${Math.floor(fs.statSync(file).mtimeMs)}"`;
    const ifRange = req.headers['if-range'];
    const range = ifRange === undefined || ifRange === etag ? /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '') : null;
    if (range) {
      const start = Number(range[1]);
      this.rangeStarts.set(pathname, [...(this.rangeStarts.get(pathname) ?? []), start]);
      const end = range[2] ? Number(range[2]) : size - 1;
      res.writeHead(206, {
        'content-type': contentType,
        'content-length': end - start + 1,
        'content-range': `bytes ${start}-${end}/${size}`,
        'accept-ranges': 'bytes',
        etag,
      });
      if (req.method === 'HEAD') return void res.end();
      return send(file, start, end, res, route);
    }
    res.writeHead(200, { 'content-type': contentType, 'content-length': size, 'accept-ranges': 'bytes', etag });
    if (req.method === 'HEAD') return void res.end();
    send(file, 0, size - 1, res, route);
  }
}

/** Sends bytes `start..end` of `file`, paced to `bytesPerSecond` and cut short at `stallAfterBytes` when given. */
function send(file: string, start: number, end: number, res: http.ServerResponse, route: MediaRoute): void {
  if (route.stallAfterBytes !== undefined) {
    const head = Buffer.alloc(Math.min(route.stallAfterBytes, end - start + 1));
    const fd = fs.openSync(file, 'r');
    fs.readSync(fd, head, 0, head.length, start);
    fs.closeSync(fd);
    res.write(head); // ...and nothing more: the client waits on a silent connection
    return;
  }
  const source = fs.createReadStream(file, { start, end });
  const { bytesPerSecond } = route;
  if (!bytesPerSecond) {
    source.pipe(res);
    return;
  }
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  source.on('data', (chunk: string | Buffer) => {
    source.pause();
    const buffer = Buffer.from(chunk);
    let offset = 0;
    const tick = () => {
      if (res.destroyed) return source.destroy();
      if (offset >= buffer.length) return source.resume();
      res.write(buffer.subarray(offset, offset + slice));
      offset += slice;
      setTimeout(tick, 100);
    };
    tick();
  });
  source.on('end', () => res.end());
  res.on('close', () => source.destroy());
}
