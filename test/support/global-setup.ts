import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { CHROMIUM_HINT, findChromium, isCi } from './chromium.js';
import { auditLogDir, formatReport, LOG_AUDIT_ENV, staleAuditDirs } from './log-audit.js';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const AUDIT_PREFIX = 'hrsync-log-audit-';

/**
 * Before the suite: drop test databases left behind by runs that died more than an hour
 * ago (each test file creates and drops its own; see test/support/store.ts), and start the
 * log audit (test/support/log-audit.ts). After the suite: audit every log line the run
 * produced; a hit fails the run (exit status 1) and keeps the lines for inspection; and,
 * when the browser tests were part of the run but skipped for want of Chromium, say so in
 * one line at the very end, where it is seen.
 */
/**
 * Vitest calls a global setup once per project (vitest.config.ts has two: the suite, then the
 * timed files alone), each with its own copy of this module but in one process: the first call
 * does the work and the last teardown audits, so a run has one audit of every line. The count
 * lives on globalThis, which the copies share.
 */
const RUN = Symbol.for('hrsync.test-run');
type RunState = { holders: number; finish?: () => void };
const run = ((globalThis as Record<symbol, unknown>)[RUN] ??= { holders: 0 }) as RunState;

export default async function setup(project: TestProject): Promise<() => void> {
  run.holders += 1;
  if (run.holders === 1) run.finish = await startRun();
  return () => {
    run.holders -= 1;
    if (run.holders > 0) return;
    run.finish?.();
    run.finish = undefined;
    if (!findChromium() && !isCi() && ranBrowserTests(project)) console.log(`\n\x1b[1;33m!! SKIPPED ${CHROMIUM_HINT}\x1b[0m\n`);
  };
}

async function startRun(): Promise<() => void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`tests need PostgreSQL at ${ADMIN_URL}: ${(err as Error).message}. Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`);
  }
  try {
    const { rows } = await client.query<{ datname: string }>(`select datname from pg_database where datname like 'hrsync_t_%'`);
    const cutoff = Date.now() - 3_600_000;
    for (const { datname } of rows) {
      const ts = Number(datname.split('_')[2]);
      if (Number.isFinite(ts) && ts < cutoff) await client.query(`drop database if exists "${datname}" with (force)`).catch(() => {});
    }
  } finally {
    await client.end();
  }
  return startLogAudit();
}

function ranBrowserTests(project: TestProject): boolean {
  try {
    return project.vitest.state.getFiles().some((f) => f.filepath.includes('/test/e2e/'));
  } catch {
    return true;
  }
}

/**
 * Points every logger of this run — in vitest's worker processes, which inherit the
 * environment, and in the `hrsync` processes the tests spawn — at a fresh directory, and
 * returns the teardown that audits it. A directory given in HRSYNC_LOG_AUDIT_DIR is used
 * as is and kept.
 */
function startLogAudit(): () => void {
  for (const old of staleAuditDirs(tmpdir(), AUDIT_PREFIX)) rmSync(old, { recursive: true, force: true });
  const given = process.env[LOG_AUDIT_ENV];
  const dir = given || mkdtempSync(join(tmpdir(), AUDIT_PREFIX));
  process.env[LOG_AUDIT_ENV] = dir;
  return () => {
    const report = auditLogDir(dir);
    if (report.hits.length > 0) {
      console.error(formatReport(report));
      // A throw here would only be printed ("error during close"): the exit status is what fails `npm test`.
      process.exitCode = 1;
      return;
    }
    console.log(formatReport(report));
    if (!given) rmSync(dir, { recursive: true, force: true });
  };
}
