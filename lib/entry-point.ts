import { readEnv, secretsOf, type Config, type SecretSettings } from './config';
import { openLogFile } from './log-file';
import { createLogger, redact, type Logger } from './logger';

/**
 * Runs a process's main function. A failure that escapes it is printed as one
 * line and the process exits 1; whatever the error says, every secret the
 * environment holds is scrubbed from it first (even when the config is invalid).
 */
export function runEntryPoint(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${name} failed: ${redact(message, secretsOf(readEnv()))}\n`);
    process.exit(1);
  });
}

/**
 * A process's logger as its settings ask: level, pretty console, and LOG_FILE
 * (rotated) beside the console; every secret of the settings, and `extraSecrets`
 * (cookie values, say), scrubbed from both.
 */
export async function processLogger(
  config: Pick<Config, 'LOG_LEVEL' | 'LOG_PRETTY' | 'LOG_FILE'> & SecretSettings,
  name: string,
  extraSecrets: string[] = [],
): Promise<Logger> {
  return createLogger({
    level: config.LOG_LEVEL,
    pretty: config.LOG_PRETTY,
    secrets: [...secretsOf(config), ...extraSecrets],
    name,
    file: config.LOG_FILE ? await openLogFile(config.LOG_FILE) : undefined,
  });
}
