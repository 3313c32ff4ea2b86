import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../lib/logger';

let installed = false;

/**
 * Routes the Temporal SDK's own logs (worker, workflow `log`) through pino so
 * the worker writes one JSON stream. The runtime can be installed once per process.
 */
export function installTemporalLogging(logger: Logger, o: { prometheusBindAddress?: string } = {}): void {
  if (installed) return;
  installed = true;
  // The SDK's info lines (worker state, webpack's bundle summary) drown our own;
  // they show up when LOG_LEVEL asks for debug or trace.
  const level: LogLevel =
    logger.level === 'trace'
      ? 'TRACE'
      : logger.level === 'debug'
        ? 'DEBUG'
        : logger.level === 'error' || logger.level === 'fatal' || logger.level === 'silent'
          ? 'ERROR'
          : 'WARN';
  const temporalLog = logger.child({ component: 'temporal' });
  Runtime.install({
    // The worker's entry point handles SIGINT and SIGTERM itself (workers/main.ts), so a
    // second signal during the drain does not kill the process (the SDK's handler is once-only).
    shutdownSignals: [],
    ...(o.prometheusBindAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: o.prometheusBindAddress } } } } : {}),
    logger: new DefaultLogger(level, ({ level: l, message, meta }) => {
      const method = l === 'TRACE' ? 'trace' : l === 'DEBUG' ? 'debug' : l === 'WARN' ? 'warn' : l === 'ERROR' ? 'error' : 'info';
      const { sdkComponent: _c, ...rest } = (meta ?? {}) as Record<string, unknown>;
      temporalLog[method](rest, message);
    }),
  });
}
