import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, waitFor, type TestService } from '../support/service.js';
import { employees } from '../support/store.js';

/**
 * One live invitation per user, enforced by PostgreSQL: rollouts of the same people firing at
 * the same instant, in two worker processes, send each person exactly one message; the other
 * rollouts count those people as skipped (already_invited / pending_elsewhere).
 */
let sink: SmtpSink;
let svc: TestService;
let workers: Array<ReturnType<typeof spawnCli>> = [];

beforeAll(async () => {
  sink = await startSmtpSink({ faults: { delayMs: 2 } });
  svc = await startTestService({ smtpUrl: sink.url, workers: false, env: { INVITE_BATCH_SIZE: '20' } });
  await svc.sync(employees(500));
  workers = [spawnCli(['start', '--role', 'worker'], { ...svc.env, LOG_LEVEL: 'silent' }), spawnCli(['start', '--role', 'worker'], { ...svc.env, LOG_LEVEL: 'silent' })];
  await Promise.all(workers.map((w) => w.waitFor('is running')));
}, 60_000);
afterAll(async () => {
  for (const w of workers) {
    w.child.kill('SIGTERM');
    await w.exited;
  }
  await svc?.close();
  await sink?.close();
});

const rollouts = () => svc.ctx.rollouts();

async function sameInstant(userIds: string[], n: number) {
  sink.reset();
  const sendAt = new Date(Date.now() + 2_500).toISOString();
  const created = [];
  for (let k = 0; k < n; k++) created.push(await rollouts().create(svc.org, { userIds, loginMethod: 'password', sendAt }));
  const done = await Promise.all(
    created.map((r) => waitFor(async () => {
      const x = await rollouts().get(r.id);
      return x?.status === 'completed' ? x : null;
    }, 60_000, 100)),
  );
  await new Promise((res) => setTimeout(res, 1_500)); // nothing trickling in after completion
  const perUser = new Map<string, number>();
  for (const m of sink.messages) perUser.set(m.envelope.to[0]!, (perUser.get(m.envelope.to[0]!) ?? 0) + 1);
  const started = await svc.store.query<{ started_at: Date }>(`select started_at from rollouts where id = any($1)`, [created.map((r) => r.id)]);
  return { done, perUser, spreadMs: Math.max(...started.map((s) => +s.started_at)) - Math.min(...started.map((s) => +s.started_at)) };
}

describe('one live invitation per user', () => {
  it.each([2, 3])('%i rollouts of the same 200 people firing at the same instant in two workers: one message each, the others skip them', async (n) => {
    const all = await svc.userIds();
    const ids = n === 2 ? all.slice(0, 200) : all.slice(200, 400);
    const { done, perUser, spreadMs } = await sameInstant(ids, n);
    expect(sink.messages).toHaveLength(200);
    expect(perUser.size).toBe(200);
    expect([...perUser.values()].every((c) => c === 1)).toBe(true);
    expect(done.reduce((a, r) => a + r.counts.targeted, 0)).toBe(200);
    expect(done.reduce((a, r) => a + r.counts.sent, 0)).toBe(200);
    for (const r of done) {
      const skipped = (r.skippedByReason.already_invited ?? 0) + (r.skippedByReason.pending_elsewhere ?? 0);
      expect(r.counts.targeted + skipped).toBe(200);
      expect(r.counts.failed).toBe(0);
    }
    // they did fire together (the triggers' delayed jobs at one time, in two processes)
    expect(spreadMs).toBeLessThan(2_000);
    const live = await svc.store.query<{ n: number }>(
      `select count(*)::int as n from (select user_id from invitations where user_id = any($1) and status in ('pending', 'sending', 'sent') group by user_id having count(*) > 1) d`,
      [ids],
    );
    expect(live[0].n).toBe(0);
  }, 90_000);

  it('the database refuses a second live invitation for a user, whatever writes it', async () => {
    const [id] = (await svc.userIds()).slice(0, 1);
    const r = (await svc.store.query<{ rollout_id: string }>(`select rollout_id from invitations where user_id = $1 and status = 'sent'`, [id]))[0];
    const other = await rollouts().create(svc.org, { userIds: [id], loginMethod: 'sso', sendAt: new Date(Date.now() + 3_600_000).toISOString() });
    await expect(
      svc.store.query(`insert into invitations (rollout_id, organization_id, user_id, batch, login_method) values ($1, 'acme', $2, 0, 'sso')`, [other.id, id]),
    ).rejects.toThrow(/invitations_live_user_uq/);
    expect(r).toBeDefined();
    await rollouts().cancel(other.id);
  });
});

/** A port nobody listens on now (the OS picks it; the process started next takes it). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('one rollout per Idempotency-Key across API processes', () => {
  it('the same POST /api/rollouts sent to two API processes at once, then retried, creates one rollout, and each person gets one message', async () => {
    const adminToken = `adm-${'k'.repeat(40)}`;
    const ports = [await freePort(), await freePort()];
    const apis = ports.map((port) => spawnCli(['start', '--role', 'api'], { ...svc.env, PORT: String(port), HRSYNC_ADMIN_TOKEN: adminToken, LOG_LEVEL: 'silent' }));
    try {
      await Promise.all(apis.map((a) => a.waitFor('is running')));
      const all = await svc.userIds();
      sink.reset();
      const since = (await svc.store.query<{ t: Date }>(`select now() as t`))[0]!.t;
      const post = (port: number, key: string, userIds: string[]) =>
        fetch(`http://127.0.0.1:${port}/api/rollouts`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({ organizationId: svc.org, userIds, loginMethod: 'sso' }),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { id: string } }));
      const rounds = [all.slice(400, 440), all.slice(440, 480), all.slice(480, 500)];
      const ids: string[] = [];
      for (const [k, userIds] of rounds.entries()) {
        const key = `double-click-${k}-${Date.now()}`;
        const [a, b] = await Promise.all([post(ports[0]!, key, userIds), post(ports[1]!, key, userIds)]);
        const retry = await post(ports[k % 2]!, key, userIds);
        for (const r of [a, b, retry]) expect(r.status).toBe(202);
        expect(new Set([a.body.id, b.body.id, retry.body.id]).size).toBe(1);
        ids.push(a.body.id);
      }
      const made = await svc.store.query<{ id: string }>(`select id from rollouts where created_at >= $1`, [since]);
      expect(made.map((r) => r.id).sort()).toEqual([...ids].sort());
      await Promise.all(ids.map((id) => waitFor(async () => (await rollouts().get(id))?.status === 'completed', 60_000, 100)));
      await new Promise((res) => setTimeout(res, 1_000));
      const perUser = new Map<string, number>();
      for (const m of sink.messages) perUser.set(m.envelope.to[0]!, (perUser.get(m.envelope.to[0]!) ?? 0) + 1);
      expect(perUser.size).toBe(100);
      expect([...perUser.values()].every((c) => c === 1)).toBe(true);
    } finally {
      for (const a of apis) {
        a.child.kill('SIGTERM');
        await a.exited;
      }
    }
  }, 120_000);
});
