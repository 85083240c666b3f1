import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { runCli, spawnCli } from '../support/cli.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { createTestStore, employees, tempDir, toCsv, type TestStore } from '../support/store.js';

/** `sync approve|reject` as subcommands beside `sync <connector>`, and whom `invite --user` accepts. */
let store: TestStore;
let env: Record<string, string>;
const prefix = testPrefix();

beforeAll(async () => {
  store = await createTestStore();
  const dir = tempDir('hrsync-cli-cmd-');
  writeFileSync(join(dir, 'acme.csv'), toCsv(employees(12)));
  writeFileSync(join(dir, 'other.csv'), toCsv(employees(3, 100)));
  writeFileSync(join(dir, 'hrsync.config.yaml'), stringify({
    organizations: [{
      id: 'acme',
      name: 'Acme',
      connectors: [
        { id: 'acme-file', type: 'file', options: { path: './acme.csv' } },
        // a connector whose name is one of sync's subcommands
        { id: 'approve', type: 'file', options: { path: './other.csv' } },
      ],
    }],
  }));
  env = { DATABASE_URL: store.url, HRSYNC_CONFIG: join(dir, 'hrsync.config.yaml'), REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix };
  const first = await runCli(['sync', 'acme-file', '--json'], env);
  expect(first.code).toBe(0);
});
afterAll(async () => {
  await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
});

const userId = async (externalId: string) => (await store.query<{ id: string }>(`select id from users where external_id = $1 and connector_id = 'acme-file'`, [externalId]))[0].id;

describe('hrsync sync', () => {
  it('lists approve and reject as subcommands in its help', async () => {
    const r = await runCli(['sync', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/approve \[options\] <runId>/);
    expect(r.stdout).toMatch(/reject \[options\] <runId>/);
    expect(r.stdout).toContain('--connector <id>');
  });

  it('syncs a connector named "approve" with --connector, and says so when approve is given something that is not a run id', async () => {
    const wrong = await runCli(['sync', 'approve', 'now'], env);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('hrsync sync --connector approve');
    const r = await runCli(['sync', '--connector', 'approve', '--json'], env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ connectorId: 'approve', status: 'succeeded', counts: { created: 3 } });
  });

  it('rejects a run by id with `sync reject`, and refuses a second decision', async () => {
    writeFileSync(join(dirname(env.HRSYNC_CONFIG), 'acme.csv'), toCsv(employees(2)));
    const held = await runCli(['sync', 'acme-file', '--json'], env);
    expect(held.code).toBe(3);
    const run = JSON.parse(held.stdout);
    const rejected = await runCli(['sync', 'reject', run.id, '--json'], env);
    expect(rejected.code).toBe(0);
    expect(JSON.parse(rejected.stdout)).toMatchObject({ id: run.id, status: 'rejected' });
    const again = await runCli(['sync', 'approve', run.id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/run_not_approvable|only a/);
    expect(await store.query(`select 1 from users where connector_id = 'acme-file' and status = 'deactivated'`)).toHaveLength(0);
  });
});

describe('hrsync invite --user', () => {
  const later = new Date(Date.now() + 30 * 86_400_000).toISOString();

  it('takes a user id, an e-mail address and an employee id in one list', async () => {
    const [u1, u2, u3] = [await userId('E1'), await userId('E2'), await userId('E3')];
    const r = await runCli(['invite', '--user', u1, 'person2@acme.example', 'E3', '--at', later, '--json'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rollout = JSON.parse(r.stdout);
    expect([...rollout.selection.userIds].sort()).toEqual([u1, u2, u3].sort());
    expect(rollout.selection.filter).toBeUndefined();
  });

  it('combines --user with --filter, as the API does', async () => {
    const r = await runCli(['invite', '--user', 'E3', 'E4', '--filter', 'location=Berlin', '--at', later, '--json'], env);
    expect(r.code).toBe(0);
    const rollout = JSON.parse(r.stdout);
    expect(rollout.selection).toMatchObject({ userIds: expect.arrayContaining([await userId('E3'), await userId('E4')]), filter: { location: 'Berlin' } });
  });

  it('names an employee id nobody has, and creates no rollout', async () => {
    const before = await store.query(`select id from rollouts`);
    const r = await runCli(['invite', '--user', 'E1', 'E999', '--at', later], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no user with employee id E999');
    expect(await store.query(`select id from rollouts`)).toHaveLength(before.length);
  });
});

describe('hrsync start --role worker with HEALTH_PORT', () => {
  it('answers the probes (/healthz, /readyz) and serves /metrics, and nothing of the API', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const worker = spawnCli(['start', '--role', 'worker'], { ...env, HEALTH_PORT: String(port), SHUTDOWN_GRACE_MS: '2000' });
    try {
      await worker.waitFor('hrsync worker is running');
      const base = `http://127.0.0.1:${port}`;
      expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^hrsync_queue_jobs\{queue="sync",state="waiting"\} \d+$/m);
      expect((await fetch(`${base}/api/users`)).status).toBe(404);
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
  });
});
