import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, waitFor, type TestService } from '../support/service.js';
import { employees } from '../support/store.js';

let sink: SmtpSink;
let svc: TestService;

beforeAll(async () => {
  sink = await startSmtpSink({ faults: { delayMs: 30 } });
  svc = await startTestService({ smtpUrl: sink.url, workers: false, env: { INVITE_BATCH_SIZE: '100' } });
});
afterAll(async () => {
  await svc?.close();
  await sink?.close();
});

describe('graceful shutdown', () => {
  it('exits within the grace period on SIGTERM mid-batch, leaving no invitation sending for good', async () => {
    await svc.sync(employees(300));
    const worker = spawnCli(['start', '--role', 'worker'], { ...svc.env, SHUTDOWN_GRACE_MS: '5000', LOG_LEVEL: 'silent' });
    await worker.waitFor('is running');
    const r = await svc.ctx.rollouts().create(svc.org, { userIds: await svc.userIds(), loginMethod: 'password' });
    await waitFor(async () => sink.messages.length >= 30, 30_000, 10);
    const t0 = Date.now();
    worker.child.kill('SIGTERM');
    const code = await worker.exited;
    const tookMs = Date.now() - t0;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(5_000 + 1_500);
    const sending = await svc.store.query<{ n: number }>(`select count(*)::int as n from invitations where rollout_id = $1 and status = 'sending'`, [r.id]);
    expect(sending[0].n).toBe(0);
    const sentAtStop = sink.messages.length;
    expect(sentAtStop).toBeLessThan(300);

    await svc.startWorkers(); // a new worker picks the rest up from the store
    const done = await waitFor(async () => {
      const x = await svc.ctx.rollouts().get(r.id);
      return x?.status === 'completed' ? x : null;
    }, 60_000, 100);
    expect(done.counts).toMatchObject({ sent: 300, pending: 0 });
    expect(new Set(sink.messages.map((m) => m.envelope.to[0])).size).toBe(300);
    expect(sink.messages).toHaveLength(300);
  }, 120_000);
});
