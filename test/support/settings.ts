import os from 'node:os';
import { parseConfig, type Config } from '../../lib/config';

/**
 * Settings for tests: the real defaults from the config schema, with short retry
 * and disk intervals so retries happen in seconds, then `overrides`. A full
 * Config, so it serves the bot's settings and the activities' alike.
 */
export function testSettings(overrides: Partial<Config> = {}): Config {
  const defaults = parseConfig({ TELEGRAM_BOT_TOKEN: '123456789:TEST-settings-token-abcdefghij', ADMIN_IDS: '1' });
  return {
    ...defaults,
    DOWNLOAD_DIR: os.tmpdir(),
    MAX_RETRIES: 3,
    RETRY_BASE_SECONDS: 0.5,
    RETRY_MAX_SECONDS: 30,
    DISK_RECHECK_SECONDS: 0.2,
    DISK_WAIT_HOURS: 1,
    DOWNLOAD_TIMEOUT_MINUTES: 5,
    HEARTBEAT_TIMEOUT_SECONDS: 30,
    // Test media servers listen on loopback.
    ALLOW_PRIVATE_URLS: true,
    // Most suites test what yt-dlp does with the media server's .mp4 links; the
    // direct source's own suites (and playlists) turn it on.
    DIRECT_SOURCE: false,
    // Completion messages as text; the send-back suite turns files on.
    TELEGRAM_UPLOAD_LIMIT_MB: 0,
    // Tests start many workers: one thread loads the workflow bundle once, not twice.
    WORKFLOW_THREADS: 1,
    ...overrides,
  };
}
