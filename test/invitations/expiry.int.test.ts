import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listUsers } from '../../src/users/user-service.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, tokenOf, waitFor, type TestService } from '../support/service.js';
import { employee } from '../support/store.js';

/**
 * Expiry: an invitation past its expiry, not accepted, returns its user's access to `none`:
 * users lists and rollouts treat them as never invited, and a plain rollout of a filter that
 * includes them invites them again — and nobody else.
 */
let sink: SmtpSink;
let svc: TestService;

beforeAll(async () => {
  sink = await startSmtpSink();
  svc = await startTestService({ smtpUrl: sink.url });
});
afterAll(async () => {
  await svc?.close();
  await sink?.close();
});

const rollouts = () => svc.ctx.rollouts();
const done = (id: string) =>
  waitFor(async () => {
    const r = await rollouts().get(id);
    return r?.status === 'completed' ? r : null;
  }, 20_000);
const accessOf = async (ids: string[]) =>
  Object.fromEntries((await svc.store.query<{ id: string; access: string }>(`select id, access from users where id = any($1)`, [ids])).map((u) => [u.id, u.access]));

describe('expiry', () => {
  it('expired, unaccepted: access back to none, listed so; a plain filter rollout re-invites exactly them', async () => {
    await svc.sync([...Array.from({ length: 6 }, (_, k) => employee(k + 1, { location: 'Lyon' })), employee(50, { location: 'Oslo' })]);
    const ids = (await svc.store.query<{ id: string; email: string }>(`select id, email from users where location_id is not null order by seq`)).slice(0, 6).map((u) => u.id);
    const first = await rollouts().create(svc.org, { filter: { location: 'Lyon' }, loginMethod: 'password' });
    expect((await done(first.id)).counts.sent).toBe(6);
    const firstTokens = new Map(sink.messages.map((m) => [m.envelope.to[0]!, tokenOf(m.text)]));
    // one accepts; two let their invitation expire; three are still within theirs
    const accepter = ids[0]!;
    const acceptToken = firstTokens.get(`person1@acme.example`)!;
    await rollouts().accept(acceptToken);
    const lapsed = ids.slice(1, 3);
    await svc.store.query(`update invitations set expires_at = now() - interval '1 minute' where user_id = any($1)`, [lapsed]);
    // the worker's periodic sweep (every reconcile, each second here)
    await waitFor(async () => {
      const a = await accessOf(lapsed);
      return lapsed.every((id) => a[id] === 'none');
    }, 10_000);
    const statuses = await svc.store.query<{ status: string }>(`select status from invitations where user_id = any($1)`, [lapsed]);
    expect(statuses.map((s) => s.status)).toEqual(['expired', 'expired']);
    const listed = await listUsers(svc.ctx.em(), { organizationId: svc.org, access: 'none' });
    expect(listed.users.map((u) => u.id)).toEqual(expect.arrayContaining(lapsed));
    expect(await accessOf([accepter, ...ids.slice(3)])).toEqual({ [accepter]: 'active', [ids[3]!]: 'invited', [ids[4]!]: 'invited', [ids[5]!]: 'invited' });
    // the expired link no longer works
    await expect(rollouts().accept(firstTokens.get('person2@acme.example')!)).rejects.toMatchObject({ code: 'invitation_invalid' });

    sink.reset();
    const again = await rollouts().create(svc.org, { filter: { location: 'Lyon' }, loginMethod: 'password' });
    const d2 = await done(again.id);
    expect(d2.counts).toMatchObject({ targeted: 2, sent: 2 });
    expect(d2.skippedByReason).toEqual({ already_active: 1, already_invited: 3 });
    expect(sink.messages.map((m) => m.envelope.to[0]).sort()).toEqual(['person2@acme.example', 'person3@acme.example']);
    expect(await accessOf(lapsed)).toEqual({ [lapsed[0]!]: 'invited', [lapsed[1]!]: 'invited' });
    await rollouts().accept(tokenOf(sink.messages[0]!.text));
  });

  it('a rollout firing before any sweep ran expires them itself', async () => {
    await svc.stopWorkers(); // no periodic sweep
    const [id] = (await svc.store.query<{ id: string }>(`select id from users where access = 'invited' order by seq limit 1`)).map((u) => u.id);
    await svc.store.query(`update invitations set expires_at = now() - interval '1 second' where user_id = $1 and status = 'sent'`, [id]);
    sink.reset();
    const r = await rollouts().create(svc.org, { userIds: [id!], loginMethod: 'sso' });
    const fired = await rollouts().fire(r.id);
    expect(fired).toMatchObject({ fired: true, targeted: 1 });
    expect(await accessOf([id!])).toEqual({ [id!]: 'none' }); // until the new one is sent
    await svc.startWorkers();
    await done(r.id);
    expect(sink.messages).toHaveLength(1);
  });
});
