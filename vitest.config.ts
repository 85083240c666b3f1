import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Files with upper bounds on wall-clock time (the send rate at the SMTP server, a shutdown's
 * grace period, two rollouts firing at one instant, a scheduled rollout sent within 2 s of its
 * time). They run alone, after the rest: next to another test file on a 2-core machine, the
 * delay is the other file's load, not hrsync's behaviour.
 */
const TIMED = [
  'test/jobs/send-rate.int.test.ts',
  'test/service/shutdown.int.test.ts',
  'test/invitations/one-per-person.int.test.ts',
  'test/invitations/rollouts.int.test.ts',
  'test/http/api-flows.int.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // global-setup also runs the log audit (test/support/log-audit.ts) after the suite
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/log-audit-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts', 'connectors/**/*.test.ts', 'src/**/*.test.ts', 'jobs/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...TIMED],
          // Vitest's default is one file at a time on 2 cores (cores - 1). Most files wait on
          // PostgreSQL, Redis, SMTP or child processes, and each has its own database and Redis
          // prefix, so two at a time is safe: 507-549 s instead of 860 s on a 2-core machine.
          maxWorkers: Math.max(2, availableParallelism() - 1),
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'timed', include: TIMED, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
