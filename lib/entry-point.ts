import { readEnv, secretsOf } from './config';
import { redact } from './logger';

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
