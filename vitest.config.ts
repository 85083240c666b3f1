import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'connectors/**/*.test.ts', 'src/**/*.test.ts', 'jobs/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // global-setup also runs the log audit (test/support/log-audit.ts) after the suite
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/log-audit-setup.ts'],
  },
});
