// A static file server for the benchmark's large file, in a process of its own:
// served from the bench process, the file would share one event loop with the
// worker that downloads it, which curl and yt-dlp (other processes) do not.
// Usage: node bench/file-server.mjs <file>; prints {"port":n}, then one JSON line per request.
import fs from 'node:fs';
import http from 'node:http';

const file = process.argv[2];
const size = fs.statSync(file).size;
const server = http.createServer((req, res) => {
  process.stdout.write(`${JSON.stringify({ path: req.url, at: Date.now() })}\n`);
  const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] ? Number(range[2]) : size - 1;
  res.writeHead(range ? 206 : 200, {
    'content-type': 'video/mp4',
    'content-length': end - start + 1,
    'accept-ranges': 'bytes',
    ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
  });
  if (req.method === 'HEAD') return void res.end();
  fs.createReadStream(file, { start, end, highWaterMark: 1024 * 1024 }).pipe(res);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
