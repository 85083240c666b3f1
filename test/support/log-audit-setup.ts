/**
 * Runs before every test file (vitest `setupFiles`): marks in this process's log-audit file
 * which test file and test are running, so that a hit of the audit names its test.
 * A no-op when the audit is off. See test/support/log-audit.ts.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { auditMark } from './log-audit.js';

type Suite = { name: string; file?: { name: string } };
const fileOf = (suite: unknown) => (suite as Suite).file?.name ?? (suite as Suite).name;

beforeAll(({}, suite) => {
  auditMark({ test: `${fileOf(suite)} (beforeAll)` });
});

beforeEach((ctx) => {
  auditMark({ test: ctx.task.fullName });
});

afterAll(({}, suite) => {
  auditMark({ test: `${fileOf(suite)} (afterAll)` });
});
