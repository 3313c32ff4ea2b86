// Unit tests are fast and touch nothing; integration and e2e tests run the real
// Temporal dev server, PostgreSQL, Redis and yt-dlp (see test/support).
const transform = { '^.+\\.ts$': ['@swc/jest'] };
const common = { testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts', '<rootDir>/test/e2e/**/*.test.ts'],
      setupFiles: ['<rootDir>/test/support/quiet-temporal.ts'],
      slowTestThreshold: 60,
    },
  ],
  // Four files at once on two cores: integration files spend most of their time
  // waiting on their own servers (Temporal, yt-dlp, child processes), and each owns
  // them (measured: 2 m 16 s with four, 2 m 57 s with three).
  maxWorkers: 4,
  testSequencer: '<rootDir>/test/support/sequencer.mjs',
  testTimeout: 120000,
};
