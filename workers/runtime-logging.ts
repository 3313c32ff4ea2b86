import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from '../lib/logger';

let installed = false;

/**
 * Routes the Temporal SDK's own logs (worker, workflow `log`) through pino so
 * the worker writes one JSON stream. The runtime can be installed once per process.
 */
export function installTemporalLogging(logger: Logger): void {
  if (installed) return;
  installed = true;
  const level = (['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'] as const).find(
    (l) => l.toLowerCase() === logger.level,
  ) ?? (logger.level === 'silent' || logger.level === 'fatal' ? 'ERROR' : 'INFO');
  const temporalLog = logger.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger(level as LogLevel, ({ level: l, message, meta }) => {
      const method = l === 'TRACE' ? 'trace' : l === 'DEBUG' ? 'debug' : l === 'WARN' ? 'warn' : l === 'ERROR' ? 'error' : 'info';
      const { sdkComponent: _c, ...rest } = (meta ?? {}) as Record<string, unknown>;
      temporalLog[method](rest, message);
    }),
  });
}
