import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/**
 * A plain HTTP server with one route, GET /metrics, for processes that have no
 * other HTTP surface (the worker). `extra` appends text in the Prometheus
 * format (the Temporal SDK's own metrics).
 */
export async function serveMetrics(
  registry: Registry,
  o: { host: string; port: number; extra?: () => Promise<string> },
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the only route is GET /metrics\n');
      return;
    }
    void (async () => {
      try {
        const ours = await registry.metrics();
        const extra = o.extra ? await o.extra().catch(() => '') : '';
        res.writeHead(200, { 'content-type': registry.contentType }).end(`${ours}\n${extra}`);
      } catch {
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics could not be collected\n');
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
