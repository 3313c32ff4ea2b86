import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/**
 * The correlation ID of the request being handled, carried implicitly through
 * async calls so that every log line can name it without passing it around.
 */
const storage = new AsyncLocalStorage<{ correlationId: string }>();

/** Short enough to read out from a Telegram reply, unique enough for logs. */
export function newCorrelationId(): string {
  return randomBytes(6).toString('hex');
}

export function withCorrelation<T>(correlationId: string, fn: () => T): T {
  return storage.run({ correlationId }, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}
