import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestStore, employees, tempDir, toCsv, type TestStore } from '../support/store.js';

let store: TestStore;
let dir: string;
let env: Record<string, string>;
const exportPath = () => join(dir, 'employees.csv');

beforeAll(async () => {
  store = await createTestStore();
  dir = tempDir('hrsync-cli-');
  writeFileSync(exportPath(), toCsv(employees(50)));
  writeFileSync(join(dir, 'hrsync.config.yaml'), stringify({
    organizations: [{ id: 'acme', name: 'Acme GmbH', connectors: [{ id: 'acme-file', type: 'file', options: { path: './employees.csv' } }] }],
  }));
  env = { DATABASE_URL: store.url, HRSYNC_CONFIG: join(dir, 'hrsync.config.yaml') };
});
afterAll(async () => {
  await store?.drop();
});

describe('hrsync CLI', () => {
  it('sync --json prints the run record as one JSON object on stdout and exits 0', async () => {
    const r = await runCli(['sync', 'acme-file', '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run).toMatchObject({ organizationId: 'acme', connectorId: 'acme-file', trigger: 'manual', dryRun: false, status: 'succeeded', counts: { seen: 50, created: 50 }, rejected: [], error: null });
    expect(Object.keys(run)).toEqual(expect.arrayContaining(['id', 'startedAt', 'finishedAt']));
  });

  it('users list --json lists the synced users, none of them invited', async () => {
    const r = await runCli(['users', 'list', '--org', 'acme', '--json'], env);
    expect(r.code).toBe(0);
    const users = JSON.parse(r.stdout);
    expect(users).toHaveLength(50);
    expect(users[0]).toMatchObject({ organizationId: 'acme', connectorId: 'acme-file', externalId: 'E1', status: 'active', access: 'none', groups: ['Finance'] });
    const table = await runCli(['users', 'list'], env);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+ORG\s+EMAIL/);
  });

  it('exits 3 when a run needs approval, and `sync approve` applies it', async () => {
    writeFileSync(exportPath(), toCsv(employees(5)));
    const dry = await runCli(['sync', 'acme-file', '--dry-run', '--json'], env);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, status: 'needs_approval', counts: { heldDeactivations: 45 } });
    const held = await runCli(['sync', 'acme-file'], env);
    expect(held.code).toBe(3);
    expect(held.stderr).toMatch(/needs approval.*hrsync sync approve [0-9a-f-]{36}/);
    const runId = /approve ([0-9a-f-]{36})/.exec(held.stderr)![1];
    const approved = await runCli(['sync', 'approve', runId, '--json'], env);
    expect(approved.code).toBe(0);
    expect(JSON.parse(approved.stdout)).toMatchObject({ id: runId, status: 'approved', counts: { deactivated: 45 } });
  });

  it('fails with one clear line and a non-zero exit for an unknown connector', async () => {
    const r = await runCli(['sync', 'nope'], env);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^hrsync: no connector "nope"/);
  });

  it('exits 2 when the run fails', async () => {
    writeFileSync(exportPath(), 'employeeId,firstName\n1,Ana\n');
    const r = await runCli(['sync', 'acme-file', '--json'], env);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'failed', error: expect.stringMatching(/missing required columns email, lastName/) });
  });

  it('names the PostgreSQL URL it tried and how to start it when the database is unreachable', async () => {
    const r = await runCli(['users', 'list'], { ...env, DATABASE_URL: 'postgres://postgres:s3cret@127.0.0.1:1/hrsync' });
    expect(r.code).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot reach PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/hrsync .*pg_ctlcluster/);
    expect(r.stderr).not.toContain('s3cret');
  });

  it('names the Redis URL it tried when Redis is unreachable at start', async () => {
    const r = await runCli(['start'], { ...env, REDIS_URL: 'redis://127.0.0.1:1', PORT: '0', LOG_LEVEL: 'silent' });
    expect(r.code).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1.*redis-server/);
  });

  it('reports every config problem with its path', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, stringify({ organizations: [{ id: 'x', name: 'X', connectors: [{ id: 'c', type: 'file', options: {} }] }] }));
    const r = await runCli(['sync', 'c'], { ...env, HRSYNC_CONFIG: bad });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('organizations[0].connectors[0].options.path: required');
  });
});
