import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtpSink, type CapturedMessage, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, waitFor, type TestService } from '../support/service.js';
import { employee, type Row } from '../support/store.js';

/**
 * Mail faults that fail nobody: a mail server that refuses the sender pauses the rollout with
 * the reason (0 failed) and `resume` after the fix sends to everyone; a mail server that is
 * gone for a while makes the batches wait, and sending goes on by itself when it is back.
 */
let sink: SmtpSink;
let svc: TestService;
let port: number;
const received: CapturedMessage[] = [];

beforeAll(async () => {
  sink = await startSmtpSink();
  port = sink.port;
  svc = await startTestService({ smtpUrl: sink.url, env: { INVITE_BATCH_SIZE: '10' } });
});
afterAll(async () => {
  await svc?.close();
  await sink?.close();
});

const rollouts = () => svc.ctx.rollouts();
const hr = new Map<number, Row>();
let next = 1;
async function hire(n: number): Promise<Array<{ id: string; email: string }>> {
  const from = next;
  next += n;
  for (let k = 0; k < n; k++) hr.set(from + k, employee(from + k));
  await svc.sync([...hr.values()]);
  return svc.store.query<{ id: string; email: string }>(`select id, email from users where external_id = any($1) order by seq`, [Array.from({ length: n }, (_, k) => `E${from + k}`)]);
}
const reaches = (id: string, status: string, timeoutMs = 30_000) =>
  waitFor(async () => {
    const r = await rollouts().get(id);
    return r?.status === status ? r : null;
  }, timeoutMs, 50);

describe('mail faults that fail nobody', () => {
  it('550 to MAIL FROM: the rollout pauses with the reason, nobody fails; after the fix, resume sends to everyone', async () => {
    const users = await hire(40);
    sink.setFaults({ rejectSender: { code: 550, message: '5.7.1 Sender address rejected: not owned by user' } });
    const r = await rollouts().create(svc.org, { userIds: users.map((u) => u.id), loginMethod: 'password' });
    const paused = await reaches(r.id, 'paused');
    expect(paused.error).toMatch(/sender_rejected/);
    expect(paused.error).toMatch(/550/);
    expect(paused.error).toMatch(/resume/);
    await new Promise((res) => setTimeout(res, 1_500)); // batches that were running stop; a reconcile pass
    const still = (await rollouts().get(r.id))!;
    expect(still.status).toBe('paused');
    expect(still.counts).toMatchObject({ failed: 0, sent: 0, pending: 40 });
    expect(sink.messages).toHaveLength(0);
    sink.setFaults({});
    const resumed = await rollouts().resume(r.id);
    expect(resumed.error).toBeNull();
    const done = await reaches(r.id, 'completed');
    expect(done.counts).toMatchObject({ targeted: 40, sent: 40, failed: 0, pending: 0 });
    expect(new Set(sink.messages.map((m) => m.envelope.to[0])).size).toBe(40);
    expect(sink.messages).toHaveLength(40);
    sink.reset();
  }, 60_000);

  it('the same refusal for five different recipients in a row is the sender\'s: paused, nobody failed', async () => {
    const users = await hire(30);
    sink.setFaults({ reject: { recipients: users.map((u) => u.email), code: 554, message: '5.7.1 Relay access denied' } });
    const r = await rollouts().create(svc.org, { userIds: users.map((u) => u.id), loginMethod: 'sso' });
    const paused = await reaches(r.id, 'paused');
    expect(paused.error).toMatch(/554/);
    await new Promise((res) => setTimeout(res, 1_000));
    expect((await rollouts().get(r.id))!.counts).toMatchObject({ failed: 0, sent: 0, pending: 30 });
    sink.setFaults({});
    await rollouts().resume(r.id);
    const done = await reaches(r.id, 'completed');
    expect(done.counts).toMatchObject({ sent: 30, failed: 0 });
    sink.reset();
  }, 60_000);

  it('one unknown mailbox fails that invitation only', async () => {
    const users = await hire(12);
    sink.setFaults({ reject: { recipients: [users[4]!.email], code: 550, message: '5.1.1 User unknown' } });
    const r = await rollouts().create(svc.org, { userIds: users.map((u) => u.id), loginMethod: 'sso' });
    const done = await reaches(r.id, 'completed');
    expect(done.counts).toMatchObject({ sent: 11, failed: 1 });
    expect(done.error).toBeNull();
    sink.setFaults({});
    sink.reset();
  }, 30_000);

  it('the SMTP server stopped for 15 s mid-rollout (the issue measured 150 s; shortened here): 0 failed, all sent after it returns', async () => {
    const users = await hire(120);
    sink.setFaults({ delayMs: 25 });
    const r = await rollouts().create(svc.org, { userIds: users.map((u) => u.id), loginMethod: 'magic_link' });
    await waitFor(async () => sink.messages.length >= 20, 30_000, 5);
    received.push(...sink.messages);
    await sink.close();
    received.push(...sink.messages.slice(received.length));
    const stoppedAt = Date.now();
    await new Promise((res) => setTimeout(res, 15_000));
    const during = (await rollouts().get(r.id))!;
    expect(during.status).toBe('running');
    expect(during.counts.failed).toBe(0);
    sink = await startSmtpSink({ port });
    const done = await reaches(r.id, 'completed', 60_000);
    received.push(...sink.messages);
    expect(Date.now() - stoppedAt).toBeGreaterThan(15_000);
    expect(done.counts).toMatchObject({ targeted: 120, sent: 120, failed: 0, pending: 0 });
    const emails = new Set(users.map((u) => u.email));
    expect(new Set(received.map((m) => m.envelope.to[0]).filter((t) => emails.has(t!))).size).toBe(120);
    const attempts = await svc.store.query<{ n: number }>(`select count(*)::int as n from invitations where rollout_id = $1 and status = 'failed'`, [r.id]);
    expect(attempts[0].n).toBe(0);
  }, 120_000);
});
