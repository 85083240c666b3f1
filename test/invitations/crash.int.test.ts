import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.js';
import { startPrivateRedis } from '../support/redis.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, waitFor, type TestService } from '../support/service.js';
import { employees } from '../support/store.js';

/**
 * The store is the truth: a worker killed with SIGKILL, or a Redis that loses everything,
 * loses no invitation. These run against a private redis-server so that FLUSHALL and
 * restarts touch nobody else's data.
 */
let sink: SmtpSink;
let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let svc: TestService;

beforeAll(async () => {
  sink = await startSmtpSink({ faults: { delayMs: 5 } });
  redis = await startPrivateRedis();
  svc = await startTestService({ smtpUrl: sink.url, redisUrl: redis.url, workers: false, env: { INVITE_BATCH_SIZE: '25', INVITE_RATE_PER_SECOND: '400' } });
});
afterAll(async () => {
  await svc?.close();
  await redis?.stop();
  await sink?.close();
});

const unique = () => new Set(sink.messages.map((m) => m.envelope.to[0])).size;

describe('never lost', () => {
  it('completes a rollout after its worker is SIGKILLed mid-way; nobody missed, duplicates at most the messages in flight', async () => {
    await svc.sync(employees(400));
    const ids = await svc.userIds();
    const worker = spawnCli(['start', '--role', 'worker'], { ...svc.env, LOG_LEVEL: 'silent' });
    await worker.waitFor('is running');
    const r = await svc.ctx.rollouts().create(svc.org, { userIds: ids, loginMethod: 'password' });
    await waitFor(async () => sink.messages.length >= 120, 30_000, 10);
    worker.child.kill('SIGKILL');
    await worker.exited;
    const inFlight = Number((await svc.store.query<{ n: number }>(`select count(*)::int as n from invitations where rollout_id = $1 and status = 'sending'`, [r.id]))[0].n);
    const sentAtKill = sink.messages.length;
    expect(sentAtKill).toBeLessThan(400);

    const again = spawnCli(['start', '--role', 'worker'], { ...svc.env, LOG_LEVEL: 'silent' });
    await again.waitFor('is running');
    const done = await waitFor(async () => {
      const x = await svc.ctx.rollouts().get(r.id);
      return x?.status === 'completed' ? x : null;
    }, 90_000, 100);
    again.child.kill('SIGTERM');
    await again.exited;
    expect(done.counts).toMatchObject({ targeted: 400, sent: 400, pending: 0, failed: 0 });
    expect(unique()).toBe(400);
    const duplicates = sink.messages.length - 400;
    expect(duplicates).toBeLessThanOrEqual(inFlight);
  }, 150_000);

  it('restores the work after Redis loses everything mid-rollout, and completes', async () => {
    sink.reset();
    const ids = (await svc.userIds()).slice(0, 300);
    // the first test's invitations lapse (one live invitation per user: they would be skipped as already_invited)
    await svc.store.query(`update invitations set expires_at = now() - interval '1 second' where status = 'sent'`);
    const workers = await svc.startWorkers();
    const r = await svc.ctx.rollouts().create(svc.org, { userIds: ids, loginMethod: 'sso' });
    const scheduled = await svc.ctx.rollouts().create(svc.org, { userIds: ids.slice(0, 5), loginMethod: 'sso', sendAt: new Date(Date.now() + 4_000).toISOString(), resend: true });
    await waitFor(async () => sink.messages.length >= 60, 30_000, 10);
    await redis.flushAll();
    await workers.reconcileNow();
    const done = await waitFor(async () => {
      const x = await svc.ctx.rollouts().get(r.id);
      return x?.status === 'completed' ? x : null;
    }, 60_000, 100);
    expect(done.counts).toMatchObject({ targeted: 300, sent: 300, pending: 0 });
    // the scheduled rollout's trigger, lost with Redis, fires anyway
    const fired = await waitFor(async () => {
      const x = await svc.ctx.rollouts().get(scheduled.id);
      return x?.status === 'completed' ? x : null;
    }, 30_000, 100);
    expect(fired.counts.sent).toBe(5);
    const firstRollout = sink.messages.filter((m) => (m.subject ?? '').length > 0);
    expect(new Set(firstRollout.map((m) => m.envelope.to[0])).size).toBe(300);
    await svc.stopWorkers();
  }, 120_000);

  it('survives a Redis restart between the rollout being created and its time', async () => {
    sink.reset();
    const ids = (await svc.userIds()).slice(300, 310);
    const r = await svc.ctx.rollouts().create(svc.org, { userIds: ids, loginMethod: 'password', sendAt: new Date(Date.now() + 2_000).toISOString() });
    await redis.restart();
    await svc.startWorkers(); // reconciles on start
    const done = await waitFor(async () => {
      const x = await svc.ctx.rollouts().get(r.id);
      return x?.status === 'completed' ? x : null;
    }, 30_000, 100);
    expect(done.counts.sent).toBe(10);
    expect(sink.messages).toHaveLength(10);
  }, 60_000);
});
