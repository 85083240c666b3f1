import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'connectors/**/*.test.ts', 'src/**/*.test.ts', 'jobs/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest's default is one file at a time on 2 cores (cores - 1). Most files wait on PostgreSQL,
    // Redis, SMTP or child processes, and each has its own database and Redis prefix, so two at a
    // time is safe: 549 s instead of 860 s on a 2-core CI machine (2026-12-05).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // global-setup also runs the log audit (test/support/log-audit.ts) after the suite
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/log-audit-setup.ts'],
  },
});
