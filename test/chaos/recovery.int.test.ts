import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueSync } from '../../jobs/sync/enqueue.js';
import { startPrivateRedis } from '../support/redis.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, waitFor, type TestService } from '../support/service.js';
import { employees } from '../support/store.js';

/**
 * What the chaos scenarios (bench/chaos/worker-kill.ts, bench/chaos/redis.ts) found, pinned
 * in-process and fast. A private redis-server: these tests flush it.
 */
let sink: SmtpSink;
let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let svc: TestService;

beforeAll(async () => {
  sink = await startSmtpSink({ parse: false });
  redis = await startPrivateRedis();
  svc = await startTestService({ smtpUrl: sink.url, redisUrl: redis.url, workers: false, env: { INVITE_BATCH_SIZE: '100' } });
  await svc.sync(employees(200));
});
afterAll(async () => {
  await svc?.close();
  await redis?.stop();
  await sink?.close();
});

const recipients = () => sink.messages.map((m) => m.envelope.to[0]);

describe('recovery after Redis loses its data', () => {
  it('never runs a batch twice at once when Redis lost the job of a batch that is still running (no duplicates)', async () => {
    sink.reset();
    sink.setFaults({ delayMs: 150 }); // a 100-message batch takes a few seconds
    const ids = (await svc.userIds()).slice(0, 100);
    const workers = await svc.startWorkers();
    try {
      const r = await svc.ctx.rollouts().create(svc.org, { userIds: ids, loginMethod: 'password' });
      await waitFor(async () => sink.stats.received >= 10, 30_000, 10);
      // Redis loses everything while the batch runs; the reconciler queues the batch again, and
      // a free slot of the same worker takes it while the first run of it is mid-chunk.
      await redis.flushAll();
      await workers.reconcileNow();
      const done = await waitFor(async () => {
        const x = await svc.ctx.rollouts().get(r.id);
        return x?.status === 'completed' ? x : null;
      }, 60_000, 100);
      expect(done.counts).toMatchObject({ targeted: 100, sent: 100, pending: 0, failed: 0 });
      expect(new Set(recipients()).size).toBe(100);
      expect(recipients()).toHaveLength(100);
    } finally {
      sink.setFaults({});
      await svc.stopWorkers();
    }
  }, 90_000);

  it('runs a sync that was queued when Redis lost its job, instead of leaving it queued forever', async () => {
    const { runId } = await enqueueSync(svc.ctx.em(), svc.ctx.queues().sync, { connectorId: svc.connector, trigger: 'api' });
    await redis.flushAll();
    await svc.startWorkers(); // reconciles on start
    try {
      const run = await waitFor(async () => {
        const [x] = await svc.store.query<{ status: string }>(`select status from sync_runs where id = $1`, [runId]);
        return x && x.status !== 'queued' && x.status !== 'running' ? x : null;
      }, 30_000, 100);
      expect(run.status).toBe('succeeded');
    } finally {
      await svc.stopWorkers();
    }
  }, 60_000);
});
