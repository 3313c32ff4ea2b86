import net from 'node:net';

/** A TCP port free on 127.0.0.1 right now (for a server that cannot be told to pick its own). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The body of a GET, as text (within `timeoutMs`); throws on a status other than 2xx. */
export async function fetchText(url: string, timeoutMs = 5_000): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${url} answered HTTP ${response.status}`);
  return response.text();
}
