import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext, type AppContext } from '../../src/app/context.js';
import { silentLogger } from '../../src/lib/logger.js';
import { startWorkers, type RunningWorkers } from '../../jobs/workers.js';
import { auditSecrets } from './log-audit.js';
import { deletePrefix, REDIS_URL, testPrefix } from './redis.js';
import { configFor, createTestStore, tempDir, toCsv, type Row, type TestStore } from './store.js';

export interface TestService {
  store: TestStore;
  ctx: AppContext;
  workers: RunningWorkers | null;
  org: string;
  connector: string;
  prefix: string;
  redisUrl: string;
  env: Record<string, string>;
  /** Writes the HR export and syncs it. */
  sync(rows: Array<Partial<Row>>): Promise<void>;
  /** Writes the second organization's (globex) export and syncs it (needs `extraOrg`); returns the run's status. */
  syncOther(rows: Array<Partial<Row>>): Promise<string>;
  startWorkers(): Promise<RunningWorkers>;
  stopWorkers(): Promise<void>;
  userIds(): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * A store, a config with one organization (and optionally a second), queues under a
 * prefix of their own, and — unless told otherwise — running workers sending to `smtpUrl`.
 */
export async function startTestService(opts: { smtpUrl: string; redisUrl?: string; env?: Record<string, string>; workers?: boolean; extraOrg?: boolean; orgConfig?: Record<string, unknown> } ): Promise<TestService> {
  const store = await createTestStore();
  const dir = tempDir('hrsync-svc-');
  const exportPath = join(dir, 'employees.csv');
  writeFileSync(exportPath, toCsv([]));
  const prefix = testPrefix();
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const org = 'acme';
  const connector = 'acme-hr';
  const organizations: unknown[] = [{ id: org, name: 'Acme <GmbH> & "Co"', connectors: [{ id: connector, type: 'file', options: { path: exportPath }, deactivation: { maxPercent: 100 } }], ...opts.orgConfig }];
  const otherPath = join(dir, 'other.csv');
  if (opts.extraOrg) {
    writeFileSync(otherPath, toCsv([]));
    organizations.push({ id: 'globex', name: 'Globex', connectors: [{ id: 'globex-hr', type: 'file', options: { path: otherPath } }] });
  }
  const env = {
    REDIS_URL: redisUrl,
    HRSYNC_QUEUE_PREFIX: prefix,
    SMTP_URL: opts.smtpUrl,
    APP_URL: 'http://hrsync.test',
    INVITE_RATE_PER_SECOND: '0',
    QUEUE_LOCK_MS: '4000',
    ...opts.env,
  };
  const config = configFor(store.url, { organizations, invitations: { reconcileEverySeconds: 1 } }, env);
  const ctx = await createContext({ config, log: silentLogger });
  const svc: TestService = {
    store,
    ctx,
    workers: null,
    org,
    connector,
    prefix,
    redisUrl,
    env: { ...env, DATABASE_URL: store.url },
    async sync(rows) {
      writeFileSync(exportPath, toCsv(rows));
      const run = await ctx.sync.run({ connectorId: connector });
      if (run.status !== 'succeeded') throw new Error(`sync ${run.status}: ${run.error ?? run.heldReason}`);
    },
    async syncOther(rows) {
      if (!opts.extraOrg) throw new Error('syncOther needs startTestService({ extraOrg: true })');
      writeFileSync(otherPath, toCsv(rows));
      const run = await ctx.sync.run({ connectorId: 'globex-hr' });
      if (run.status === 'failed') throw new Error(`sync failed: ${run.error}`);
      return run.status;
    },
    async startWorkers() {
      svc.workers = await startWorkers(ctx);
      return svc.workers;
    },
    async stopWorkers() {
      await svc.workers?.close(5_000);
      svc.workers = null;
    },
    async userIds() {
      return (await store.query<{ id: string }>(`select id from users where organization_id = $1 order by seq`, [org])).map((r) => r.id);
    },
    async close() {
      await svc.stopWorkers();
      await ctx.close();
      await deletePrefix(redisUrl, prefix).catch(() => {});
      await store.drop();
    },
  };
  if (opts.workers !== false) await svc.startWorkers();
  return svc;
}

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** The accept token from a captured message's plain-text part. */
export function tokenOf(text: string | undefined): string {
  const m = /invite\/accept\?token=([A-Za-z0-9_-]+)/.exec(text ?? '');
  if (!m) throw new Error('no accept link in the message');
  const token = decodeURIComponent(m[1]);
  auditSecrets(token);
  return token;
}
