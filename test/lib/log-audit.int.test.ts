import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/lib/logger.js';
import { safeUrl } from '../../src/lib/urls.js';
import { ROOT, runCli } from '../support/cli.js';
import { auditLogDir, auditSecrets, formatReport, LOG_AUDIT_ENV } from '../support/log-audit.js';
import { tempDir } from '../support/store.js';

/**
 * The log audit checks itself: secrets logged through the real logger into a scratch audit
 * directory are caught, each by its rule, with file and line; redacted ones are not; the
 * `hrsync` child processes write there too; and a run of vitest that logs a secret exits 1.
 */

const scratch: string[] = [];
function scratchDir(): string {
  const d = tempDir('hrsync-audit-selfcheck-');
  scratch.push(d);
  return d;
}
afterEach(() => {
  vi.unstubAllEnvs();
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('log audit', () => {
  it('catches every kind of secret logged through the real logger, with file, line and rule, and passes redacted fields', () => {
    const dir = scratchDir();
    vi.stubEnv(LOG_AUDIT_ENV, dir);
    // the usual destination (a quiet test's "silent") gets nothing; the audit file gets every line at debug
    const log = createLogger({ level: 'silent', name: 'self-check' });
    const apiToken = `hrs_${randomBytes(32).toString('base64url')}`;
    const accept = randomBytes(32).toString('base64url');
    const shapeless = `pw-${randomBytes(6).toString('hex')}`;
    auditSecrets(shapeless);

    const planted: Array<[string[], () => void]> = [
      [['email'], () => log.info({ userId: 'u-1' }, 'invited ana.ruiz@acme.example')],
      [['email', 'secret-field'], () => log.debug({ job: { data: { user: { email: 'bob@globex.example' } } } }, 'three levels deep: past the redact paths')],
      [['hrsync-api-token', 'authorization', 'random-token'], () => log.warn(`rejected Bearer ${apiToken}`)],
      [['random-token', 'url-secret-parameter'], () => log.info({ link: `http://hrsync.test/invite/accept?token=${accept}` }, 'link built')],
      [['admin-token'], () => log.error({ err: `bad admin-${randomBytes(16).toString('hex')}` }, 'failed')],
      [['personio-bearer', 'vendor-credential', 'secret-field'], () => log.debug({ res: { body: { data: { token: `papi-${randomBytes(16).toString('hex')}` } } } }, 'vendor answered')],
      [['vendor-credential'], () => log.info({ hint: 'key bhr-live-3f9c1a7e5d2b48c6a0e1 rejected' }, 'connector')],
      [['url-password'], () => log.warn({ err: 'connect ECONNREFUSED smtp://mailer:pa55word@127.0.0.1:2525' }, 'smtp down')],
      [['authorization'], () => log.debug({ request: { options: { headers: { auth: `Basic ${Buffer.from('SVC-1:k3y-value').toString('base64')}` } } } }, 'request')],
      [['known-secret'], () => log.info(`password reset to ${shapeless}`)],
      [['random-token'], () => log.info({ migrations: ['Migrationq8Zr2LmX0vKc7TbN5yHw3PjD9sFg1eAu'] }, 'dressed as a migration')],
    ];
    for (const [, write] of planted) write();
    // redacted by the logger (or by safeUrl): no hit
    log.info(
      { token: apiToken, email: 'carla@acme.example', headers: { authorization: `Bearer ${apiToken}` }, smtpUrl: 'smtp://u:secret@h', job: { apiKey: 'bhr-live-0000000000000000' } },
      'redacted fields',
    );
    log.info(
      { server: safeUrl('smtp://mailer:pa55word@127.0.0.1:2525'), messageId: `<${randomUUID()}@hrsync.local>`, migrations: ['Migration20261127000000_users_org_seq'] },
      'safe',
    );

    const report = auditLogDir(dir);
    expect(report.files).toBe(1);
    expect(report.lines).toBe(planted.length + 2);
    const file = join(dir, `${process.pid}.ndjson`);
    const byLine = (n: number) => report.hits.filter((h) => h.line === n).map((h) => h.rule).sort();
    planted.forEach(([rules], i) => {
      expect(byLine(i + 1), `planted line ${i + 1}`).toEqual([...rules].sort());
    });
    expect(byLine(planted.length + 1)).toEqual([]);
    expect(byLine(planted.length + 2)).toEqual([]);
    expect(new Set(report.hits.map((h) => h.file))).toEqual(new Set([file]));
    // the report names file, line and rule, and never prints a secret whole
    const text = formatReport(report);
    expect(text).toContain('log audit FAILED');
    expect(text).toContain(`${file}:1  [email]`);
    for (const s of [apiToken, accept, shapeless, 'ana.ruiz@acme.example', 'pa55word']) expect(text).not.toContain(s);
    // and the lines are at debug level and redacted as in production
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[1].level).toBe(20);
    expect(lines[planted.length]).toMatchObject({ token: '[redacted]', email: '[redacted]', headers: { authorization: '[redacted]' }, smtpUrl: '[redacted]', job: { apiKey: '[redacted]' } });
  });

  it('has silentLogger write to the audit file (debug, redacted) when the audit is on, and nowhere when it is off', async () => {
    const dir = scratchDir();
    vi.stubEnv(LOG_AUDIT_ENV, dir);
    vi.resetModules();
    const { silentLogger } = await import('../../src/lib/logger.js');
    silentLogger.child({ component: 'test' }).debug({ email: 'dora@acme.example', userId: 'u-2' }, 'through silentLogger');
    const [line] = readFileSync(join(dir, `${process.pid}.ndjson`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(line).toMatchObject({ level: 20, component: 'test', email: '[redacted]', userId: 'u-2', msg: 'through silentLogger' });
    expect(auditLogDir(dir).hits).toEqual([]);

    vi.stubEnv(LOG_AUDIT_ENV, '');
    vi.resetModules();
    const off = (await import('../../src/lib/logger.js')).silentLogger;
    expect(off.level).toBe('silent');
  });

  it('gets the log lines of `hrsync` child processes, at debug in the file while stderr keeps LOG_LEVEL, and their stderr', async () => {
    const dir = scratchDir();
    vi.stubEnv(LOG_AUDIT_ENV, dir); // what test/support/cli.ts hands on, and where it puts the child's stderr
    const name = `hrsync_t_${Date.now()}_${randomBytes(4).toString('hex')}`;
    try {
      const r = await runCli(['migrate'], { DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${name}`, LOG_LEVEL: 'warn' });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const files = readdirSync(dir).filter((f) => f.endsWith('.ndjson') && f !== `${process.pid}.ndjson`);
      expect(files).toHaveLength(1); // <child pid>.ndjson
      expect(readFileSync(join(dir, files[0]), 'utf8')).toMatch(/"level":30,.*"msg":"migrations applied"/);

      // a one-line error on stderr, naming a URL whose password is masked
      const down = await runCli(['users', 'list'], { DATABASE_URL: 'postgres://postgres:pw-planted-1234@127.0.0.1:1/hrsync' });
      expect(down.code).toBe(1);
      const stderrFiles = readdirSync(dir).filter((f) => f.endsWith('.stderr.log'));
      expect(stderrFiles).toHaveLength(1);
      expect(readFileSync(join(dir, stderrFiles[0]), 'utf8')).toContain('postgres://postgres:***@127.0.0.1:1/hrsync');
      const report = auditLogDir(dir);
      expect(report.hits).toEqual([]);
      expect(report.files).toBe(4); // this process's markers, two children's log files, one stderr
    } finally {
      const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await admin.connect();
      await admin.query(`drop database if exists "${name}" with (force)`);
      await admin.end();
    }
  });

  it('fails a vitest run (exit status 1) whose tests pass but log a secret, naming file, line, rule and test', async () => {
    const root = scratchDir();
    const auditDir = join(root, 'audit');
    writeFileSync(
      join(root, 'vitest.config.mjs'),
      `export default { test: { include: ['planted.test.ts'], globals: true, pool: 'forks',
        globalSetup: [${JSON.stringify(join(ROOT, 'test/support/global-setup.ts'))}],
        setupFiles: [${JSON.stringify(join(ROOT, 'test/support/log-audit-setup.ts'))}] } };\n`,
    );
    writeFileSync(
      join(root, 'planted.test.ts'),
      `import { silentLogger } from ${JSON.stringify(join(ROOT, 'src/lib/logger.ts'))};\n` +
        `it('passes but logs an address', () => { silentLogger.info({ userId: 'u-3' }, 'welcome planted.person@acme.example'); });\n`,
    );
    const env: Record<string, string | undefined> = { ...process.env, [LOG_AUDIT_ENV]: auditDir, FORCE_COLOR: '0', NO_COLOR: '1' };
    delete env.VITEST;
    delete env.VITEST_WORKER_ID;
    delete env.VITEST_POOL_ID;
    delete env.TEST;
    const child = spawn(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--root', root, '--config', join(root, 'vitest.config.mjs')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(out).toMatch(/Tests\s+1 passed/);
    expect(out).toContain('log audit FAILED: 1 hit in');
    expect(out).toMatch(/\.ndjson:\d+ {2}\[email\] {2}during planted\.test\.ts > passes but logs an address/);
    expect(out).not.toContain('planted.person@acme.example');
    expect(code).toBe(1);
    expect(existsSync(auditDir)).toBe(true); // kept for inspection
  });
});
