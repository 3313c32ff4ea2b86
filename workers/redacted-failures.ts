import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Activity failures are stored in workflow histories, which the Temporal Web UI
 * and CLI show to operators: every failure an activity throws leaves the worker
 * with its message, stack and details redacted. One interceptor for every
 * activity, so no activity has to remember it (nor can one forget).
 */
export function redactFailures(redact: (text: string) => string): ActivityInterceptorsFactory {
  return () => ({
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          throw redactedFailure(err, redact);
        }
      },
    },
  });
}

/** `err` with every secret replaced; cancellation passes through untouched. */
export function redactedFailure(err: unknown, redact: (text: string) => string): unknown {
  if (err instanceof CancelledFailure) return err;
  const details = (values: unknown[] | undefined | null) =>
    values?.map((value) => {
      try {
        return JSON.parse(redact(JSON.stringify(value))) as unknown;
      } catch {
        return '[details withheld: they could not be redacted]';
      }
    });
  if (err instanceof ApplicationFailure) {
    const copy = ApplicationFailure.create({
      type: err.type ?? undefined,
      message: redact(err.message),
      nonRetryable: err.nonRetryable ?? undefined,
      details: details(err.details),
      nextRetryDelay: err.nextRetryDelay ?? undefined,
      category: err.category ?? undefined,
    });
    copy.stack = err.stack ? redact(err.stack) : copy.stack;
    return copy;
  }
  if (err instanceof Error) {
    const copy = new Error(redact(err.message));
    copy.name = err.name;
    copy.stack = err.stack ? redact(err.stack) : undefined;
    return copy;
  }
  return new Error(redact(String(err)));
}
