import { Client, Connection } from '@temporalio/client';
import type { Logger } from './logger';

/**
 * Connects to Temporal, waiting for the server while it starts (as it does
 * under `npm run dev`), up to `waitMs`.
 */
export async function connectTemporal(options: { address: string; namespace: string; logger?: Logger; waitMs?: number }): Promise<Client> {
  const deadline = Date.now() + (options.waitMs ?? 60_000);
  for (let attempt = 1; ; attempt++) {
    try {
      const connection = await Connection.connect({ address: options.address, connectTimeout: 5_000 });
      return new Client({ connection, namespace: options.namespace });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      if (attempt === 1) options.logger?.warn({ address: options.address }, 'Temporal is not reachable yet; retrying');
      await new Promise((r) => setTimeout(r, Math.min(5_000, 250 * attempt)));
    }
  }
}

/**
 * Whether the Temporal server at `address` serves `namespace` now: a ready server
 * answers for its namespace, not merely on its port. Never throws.
 */
export async function temporalReady(address: string, namespace: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1_000 });
    try {
      await connection.workflowService.describeNamespace({ namespace });
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}
