import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { HrConnector, HrEmployee } from '../../connectors/types.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { checkInvariants } from '../../src/db/invariants.js';
import { initOrm } from '../../src/db/orm.js';
import { sql, sqlOne } from '../../src/db/sql.js';
import { silentLogger, type Logger } from '../../src/lib/logger.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { startWorkers, type RunningWorkers } from '../../jobs/workers.js';
import { connection, QUEUE_NAMES } from '../../jobs/queues.js';
import { batchJobId } from '../../jobs/invitations/queue.js';
import { enqueueSync } from '../../jobs/sync/enqueue.js';
import { createPrivateStore, startPrivatePostgres, type PrivatePostgres, type PrivateStore } from '../support/private-postgres.js';
import { startPrivateRedis } from '../support/redis.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { waitFor } from '../support/service.js';
import { configFor, employees, tempDir, toCsv } from '../support/store.js';

/**
 * Regression tests for what restarting PostgreSQL under hrsync found (bench/chaos/postgres.ts).
 * They run on a private PostgreSQL cluster (never the shared server) that they stop and start.
 */
let cluster: PrivatePostgres;

beforeAll(async () => {
  cluster = await startPrivatePostgres();
});
afterAll(async () => {
  await cluster?.stop();
});
// A test that failed while the server was down must not take the next ones with it.
beforeEach(async () => {
  await cluster.ensureStarted();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hr(i: number, over: Partial<HrEmployee> = {}): HrEmployee {
  return {
    externalId: `E${i}`, email: `person${i}@acme.example`, firstName: `First${i}`, lastName: `Last${i}`, jobTitle: 'Engineer',
    department: 'Engineering', location: 'Berlin', managerExternalId: null, status: 'active', startDate: null, endDate: null, attributes: {}, ...over,
  };
}

/** An HR connector whose listing a test scripts: pages, and what happens between them. */
function scripted(): { connector: HrConnector<unknown>; script: (pages: HrEmployee[][], between?: (page: number) => Promise<void>) => void } {
  let pages: HrEmployee[][] = [];
  let between: ((page: number) => Promise<void>) | undefined;
  return {
    script(p, b) {
      pages = p;
      between = b;
    },
    connector: {
      type: 'file',
      configSchema: z.any(),
      supportsIncremental: false,
      async checkConnection() {},
      async *listEmployees() {
        const mine = pages;
        const hook = between;
        for (let k = 0; k < mine.length; k++) {
          if (k > 0) await hook?.(k);
          yield mine[k];
        }
      },
    },
  };
}

describe('a sync run when PostgreSQL restarts under it', () => {
  let store: PrivateStore;
  let engine: SyncEngine;
  const fake = scripted();
  let progress: (seen: number) => void = () => {};
  const run = () => engine.run({ connectorId: 'acme-hr', onProgress: (p) => progress(p.seen) });

  beforeAll(async () => {
    store = await createPrivateStore(cluster);
    const dir = tempDir('hrsync-pgr-');
    const config = configFor(store.url, {
      organizations: [{ id: 'acme', name: 'Acme', connectors: [{ id: 'acme-hr', type: 'file', options: { path: join(dir, 'x.csv') }, deactivation: { maxPercent: 100 } }] }],
      sync: { batchSize: 3 },
    });
    engine = new SyncEngine({ orm: store.orm, config, log: silentLogger, resolveConnector: () => fake.connector });
  });
  afterAll(async () => {
    await store?.close();
  });

  /** Resolves once `n` records went through the store (the batch committed). */
  const seenAtLeast = (n: number) => new Promise<void>((resolve) => {
    progress = (seen) => {
      if (seen >= n) resolve();
    };
  });
  const users = async () => (await store.query<{ external_id: string; status: string }>(`select external_id, status from users order by seq`)).map((u) => `${u.external_id}:${u.status}`);

  it('is recorded failed — not left running — when the database goes away mid-listing, and applies nothing', async () => {
    fake.script([[hr(1), hr(2), hr(3)], [hr(4), hr(5), hr(6)]]);
    expect((await run()).status).toBe('succeeded');
    // The next listing terminates E2 on page 1; before page 2 the server goes down, and is back 1.5 s later.
    const committed = seenAtLeast(3);
    let back: Promise<void> = Promise.resolve();
    fake.script([[hr(1), hr(2, { status: 'inactive' }), hr(3)], [hr(4), hr(5), hr(6)]], async () => {
      await committed;
      await cluster.stopServer('fast');
      back = sleep(1_500).then(() => cluster.startServer());
    });
    // before the fix: threw, and the run stayed `running` with a pending deactivation
    const record = await run().finally(() => back);
    expect(record.status).toBe('failed');
    expect(record.finishedAt).not.toBeNull();
    expect(await users()).toEqual(['E1:active', 'E2:active', 'E3:active', 'E4:active', 'E5:active', 'E6:active']);
    expect(await store.query(`select * from sync_run_deactivations where run_id = $1`, [record.id])).toEqual([]);
    const report = await checkInvariants(store.em());
    expect(report.failed).toEqual([]);
    // and the next run does the work
    fake.script([[hr(1), hr(2, { status: 'inactive' }), hr(3)], [hr(4), hr(5), hr(6)]]);
    expect((await run()).counts).toMatchObject({ deactivated: 1 });
  });

  it('stops when the session holding its connector lock ended in a restart, instead of writing beside the run that took the connector', async () => {
    fake.script([[hr(1), hr(2, { status: 'active' }), hr(3)], [hr(4), hr(5), hr(6)]]);
    expect((await run()).status).toBe('succeeded');
    const committed = seenAtLeast(3);
    let other: Awaited<ReturnType<typeof run>> | null = null;
    // Run A reads page 1, then the server restarts while A waits for page 2: A's pooled
    // connections come back by themselves, its lock does not. Run B takes the connector and
    // finishes (E6 gone from its listing) before A's page 2 arrives.
    fake.script([[hr(1), hr(2), hr(3)], [hr(4), hr(5), hr(6)]], async () => {
      await committed;
      await cluster.restart({ mode: 'fast' });
      fake.script([[hr(1), hr(2), hr(3)], [hr(4), hr(5)]]);
      other = await run();
    });
    const a = await run();
    expect(other!.status).toBe('succeeded');
    expect(other!.counts.deactivated).toBe(1);
    // Before the fix A went on: it wrote page 2 (reactivating nobody, but writing without the lock)
    // and overwrote the `failed` B had recorded for it with its own `succeeded`.
    expect(a.status).toBe('failed');
    expect(a.error).toMatch(/interrupted|lock/);
    expect((await sqlOne<{ status: string }>(store.em(), `select status from sync_runs where id = ?`, [a.id]))!.status).toBe('failed');
    expect(await users()).toContain('E6:deactivated');
    expect((await checkInvariants(store.em())).failed).toEqual([]);
  });

  it('applies deactivations only together with the record of the outcome: a failure writing it rolls them back', async () => {
    fake.script([[hr(1), hr(2), hr(3)], [hr(4), hr(5), hr(6)]]);
    expect((await run()).status).toBe('succeeded'); // E6 back (reactivated)
    await store.query(`create function fail_success() returns trigger language plpgsql as $$
                       begin if new.status = 'succeeded' and old.status = 'running' then raise exception 'injected: recording the outcome failed'; end if; return new; end $$`);
    await store.query(`create trigger fail_success before update on sync_runs for each row execute function fail_success()`);
    try {
      fake.script([[hr(1), hr(2), hr(3)], [hr(4), hr(5)]]); // E6 missing: one deactivation to apply
      const record = await run(); // before the fix: E6 deactivated, then the run threw and stayed `running`
      expect(record.status).toBe('failed');
      expect(await users()).toContain('E6:active');
      expect((await checkInvariants(store.em())).failed).toEqual([]);
    } finally {
      await store.query(`drop trigger fail_success on sync_runs; drop function fail_success()`);
    }
  });
});

describe("the ORM's own log on a dropped connection", () => {
  it('goes to our logger reduced to the reason (never the statement or its parameters), not to stdout', async () => {
    const store = await createPrivateStore(cluster);
    const lines: string[] = [];
    const log = { warn: (o: unknown, m?: string) => lines.push(JSON.stringify([o, m])), error: (o: unknown, m?: string) => lines.push(JSON.stringify([o, m])) } as unknown as Logger;
    const orm = await initOrm(store.url, { pool: { min: 0, max: 1 } }, log);
    const printed: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    const consoleLog = console.log;
    process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
      printed.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    console.log = (...args: unknown[]) => printed.push(args.map(String).join(' '));
    try {
      const secret = 'private.person@acme.example';
      const slow = sql(orm.em.fork(), `select pg_sleep(20), ?::text as who`, [secret]).catch((e: unknown) => e);
      await sleep(300);
      await cluster.stopServer('immediate'); // the connection resets under the running statement
      await slow;
      await cluster.startServer();
      await sql(orm.em.fork(), `select 1`); // the pool finds its connection dropped, says so, opens another
      expect(printed.join('\n')).not.toContain(secret);
      expect(printed.join('\n')).not.toMatch(/Connection Error/);
      expect(lines.join('\n')).not.toContain(secret);
      expect(lines.join('\n')).not.toMatch(/pg_sleep/);
    } finally {
      process.stdout.write = write;
      console.log = consoleLog;
      await orm.close(true);
      await store.close();
    }
  });
});

describe('queue jobs when PostgreSQL is away', () => {
  let store: PrivateStore;
  let ctx: AppContext;
  let sink: SmtpSink;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let workers: RunningWorkers | null = null;
  let exportPath = '';

  beforeAll(async () => {
    sink = await startSmtpSink({ parse: false });
    redis = await startPrivateRedis();
    store = await createPrivateStore(cluster);
    const dir = tempDir('hrsync-pgq-');
    exportPath = join(dir, 'employees.csv');
    writeFileSync(exportPath, toCsv(employees(30)));
    const config = configFor(
      store.url,
      { organizations: [{ id: 'acme', name: 'Acme', connectors: [{ id: 'acme-hr', type: 'file', options: { path: exportPath } }] }], invitations: { reconcileEverySeconds: 1, batchSize: 10 } },
      { REDIS_URL: redis.url, HRSYNC_QUEUE_PREFIX: '{hrsync-pgq}', SMTP_URL: sink.url, APP_URL: 'http://hrsync.test', INVITE_RATE_PER_SECOND: '0', QUEUE_LOCK_MS: '4000' },
    );
    ctx = await createContext({ config, log: silentLogger });
    expect((await ctx.sync.run({ connectorId: 'acme-hr' })).counts.created).toBe(30);
  });
  afterEach(async () => {
    await workers?.close(2_000);
    workers = null;
  });
  afterAll(async () => {
    await ctx?.close();
    await store?.close();
    await redis?.stop();
    await sink?.close();
  });

  const userIds = async () => (await store.query<{ id: string }>(`select id from users order by seq`)).map((r) => r.id);
  const completed = (id: string) => waitFor(async () => {
    const r = await ctx.rollouts().get(id).catch(() => null);
    return r?.status === 'completed' ? r : null;
  }, 30_000, 100);

  it('a batch waits out an outage longer than its retries without using them, and nothing is failed or stranded', async () => {
    const ids = (await userIds()).slice(0, 10);
    const rollout = await ctx.rollouts().create('acme', { userIds: ids, loginMethod: 'password' });
    await ctx.rollouts().fire(rollout.id);
    // The batch job as if its retries were few and short: an outage longer than them used to fail it
    // for good (and failBatch, needing the database, could not record it: the rollout hung).
    const q = ctx.queues().invitations;
    const jobId = batchJobId(rollout.id, 0);
    await q.remove(jobId);
    await q.add('send', { rolloutId: rollout.id, batch: 0 }, { jobId, attempts: 2, backoff: { type: 'fixed', delay: 100 } });
    await cluster.stopServer('fast');
    workers = await startWorkers(ctx);
    await sleep(3_000);
    const job = await q.getJob(jobId);
    expect(await job!.getState()).not.toBe('failed');
    expect(job!.attemptsMade).toBe(0);
    await cluster.startServer();
    const done = await completed(rollout.id);
    expect(done.counts).toMatchObject({ targeted: 10, sent: 10, failed: 0, pending: 0 });
    expect(sink.stats.received).toBe(10);
  });

  it('the reconciler queues again a batch whose job failed while its invitations were still pending', async () => {
    sink.reset();
    const ids = (await userIds()).slice(10, 20);
    const rollout = await ctx.rollouts().create('acme', { userIds: ids, loginMethod: 'sso' });
    await ctx.rollouts().fire(rollout.id);
    // The job fails for good and nothing records it (the worker died right then, or the database was away).
    const q = ctx.queues().invitations;
    const jobId = batchJobId(rollout.id, 0);
    await q.remove(jobId);
    await q.add('send', { rolloutId: rollout.id, batch: 0 }, { jobId, attempts: 1 });
    const manual = new Worker(QUEUE_NAMES.invitations, null, { connection: connection(redis.url, 'worker'), prefix: ctx.config.queuePrefix });
    const job = await manual.getNextJob('manual-token');
    expect(job?.id).toBe(jobId);
    await job!.moveToFailed(new Error('retries ran out'), 'manual-token');
    await manual.close();
    expect(await q.getJobState(jobId)).toBe('failed');
    // Before the fix the reconciler re-added the job under the same id: a no-op while the failed job exists.
    workers = await startWorkers(ctx);
    const done = await completed(rollout.id);
    expect(done.counts).toMatchObject({ targeted: 10, sent: 10, failed: 0 });
  });

  it('a queued sync waits for the database instead of failing', async () => {
    const { runId, jobId } = await enqueueSync(ctx.em(), ctx.queues().sync, { connectorId: 'acme-hr', trigger: 'api' });
    await cluster.stopServer('fast');
    workers = await startWorkers(ctx);
    await sleep(2_500);
    const job = await ctx.queues().sync.getJob(jobId);
    expect(await job!.getState()).not.toBe('failed');
    await cluster.startServer();
    const run = await waitFor(async () => {
      const r = await sqlOne<{ status: string }>(ctx.em(), `select status from sync_runs where id = ?`, [runId]).catch(() => null);
      return r && r.status !== 'queued' && r.status !== 'running' ? r : null;
    }, 30_000, 100);
    expect(run.status).toBe('succeeded');
  });
});
