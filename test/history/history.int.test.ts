import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpService, type HttpService } from '../support/http.js';
import { tokenOf, waitFor } from '../support/service.js';
import { employee } from '../support/store.js';
import { expireInvitations } from '../../src/db/invitation-repository.js';

/**
 * One person's whole story, from the store's triggers (user_events): created by a run, renamed
 * by the next, invited by a rollout, re-sent, accepted, terminated in HR, rehired — each step in
 * order with who or what did it; another organization's token cannot read it.
 */
let h: HttpService;

beforeAll(async () => {
  h = await startHttpService({ env: { INVITE_RATE_PER_SECOND: '0' } });
});
afterAll(async () => {
  await h?.close();
});

const lastRun = async () => (await h.svc.store.query<{ id: string }>(`select id from sync_runs where connector_id = $1 order by started_at desc limit 1`, [h.svc.connector]))[0].id;
const invitationStatus = async (rolloutId: string) =>
  (await h.svc.store.query<{ status: string }>(`select status from invitations where rollout_id = $1`, [rolloutId]))[0]?.status;

describe('a person\'s history', () => {
  it('create → rename → invite → resend → accept → HR termination → rehire, in order, with their actors', async () => {
    const others = [employee(2), employee(3), employee(4)];
    await h.svc.sync([employee(1), ...others]);
    const r1 = await lastRun();
    const [user] = await h.svc.store.query<{ id: string }>(`select id from users where external_id = 'E1'`);
    await h.svc.sync([employee(1, { lastName: 'Renamed' }), ...others]);
    const r2 = await lastRun();

    const invite = await h.svc.ctx.rollouts().create(h.svc.org, { userIds: [user.id], loginMethod: 'password' });
    await waitFor(async () => (await invitationStatus(invite.id)) === 'sent', 20_000);
    const resend = await h.svc.ctx.rollouts().create(h.svc.org, { userIds: [user.id], loginMethod: 'password', resend: true });
    await waitFor(async () => (await invitationStatus(resend.id)) === 'sent', 20_000);
    const last = h.sink.messages.at(-1)!;
    const accepted = await h.call('POST', '/api/invitations/accept', { token: null, body: { token: tokenOf(last.text) } });
    expect(accepted.statusCode, accepted.body).toBe(200);

    await h.svc.sync([employee(1, { lastName: 'Renamed', status: 'inactive' }), ...others]);
    const r4 = await lastRun();
    await h.svc.sync([employee(1, { lastName: 'Renamed' }), ...others]);
    const r5 = await lastRun();

    const res = await h.call('GET', `/api/users/${user.id}/history?organizationId=${h.svc.org}`);
    expect(res.statusCode, res.body).toBe(200);
    const events = res.json().data as Array<{ kind: string; actor: { type: string; id: string | null }; data: Record<string, any> }>;
    const story = events.map((e) => `${e.kind} by ${e.actor.type}:${e.actor.id}`);
    expect(story).toEqual([
      `created by run:${r1}`,
      `updated by run:${r2}`,
      `invited by rollout:${invite.id}`,
      `invitation_revoked by system:null`,
      `invitation_resent by rollout:${resend.id}`,
      `invitation_accepted by user:${user.id}`,
      `deactivated by run:${r4}`,
      `reactivated by run:${r5}`,
    ]);
    expect(events[0].data).toMatchObject({ connectorId: h.svc.connector, employeeId: 'E1', fields: { firstName: 'First1', lastName: 'Last1' } });
    expect(events[1].data.changes).toEqual({ lastName: ['Last1', 'Renamed'] });
    expect(events[6].data).toMatchObject({ by: 'sync' });
    // an administrator's edit: before → after, by the token that made it
    const patched = await h.call('PATCH', `/api/users/${user.id}`, { token: h.tokens.acme.token, body: { jobTitle: 'Lead' } });
    expect(patched.statusCode, patched.body).toBe(200);
    const after = (await h.call('GET', `/api/users/${user.id}/history?order=desc&limit=1`, { token: h.tokens.acme.token })).json();
    expect(after.data[0]).toMatchObject({ kind: 'updated', actor: { type: 'token', id: h.tokens.acme.id }, data: { changes: { jobTitle: ['Engineer', 'Lead'] } } });
  }, 90_000);

  it('pages with a cursor, and another organization\'s token gets 404', async () => {
    const [user] = await h.svc.store.query<{ id: string }>(`select id from users where external_id = 'E1'`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: Array<{ id: string }>; nextCursor: string | null } = (await h.call('GET', `/api/users/${user.id}/history?limit=3${cursor ? `&cursor=${cursor}` : ''}`, { token: h.tokens.acme.token })).json();
      seen.push(...page.data.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(9);
    expect(new Set(seen).size).toBe(9);
    const other = await h.call('GET', `/api/users/${user.id}/history`, { token: h.tokens.globex.token });
    expect(other.statusCode).toBe(404);
    expect((await h.call('GET', `/api/users/${user.id}/history?cursor=bogus`)).statusCode).toBe(400);
  });

  it('records an invitation that expired unaccepted', async () => {
    const [user] = await h.svc.store.query<{ id: string }>(`select id from users where external_id = 'E2'`);
    const r = await h.svc.ctx.rollouts().create(h.svc.org, { userIds: [user.id], loginMethod: 'sso' });
    await waitFor(async () => (await invitationStatus(r.id)) === 'sent', 20_000);
    await h.svc.store.query(`update invitations set expires_at = now() - interval '1 second' where rollout_id = $1`, [r.id]);
    expect(await expireInvitations(h.svc.ctx.em())).toBe(1);
    const events = (await h.call('GET', `/api/users/${user.id}/history?order=desc&limit=2`)).json().data;
    expect(events.map((e: { kind: string }) => e.kind)).toEqual(['invitation_expired', 'invited']);
    expect(events[0].data).toMatchObject({ rolloutId: r.id, loginMethod: 'sso' });
  }, 30_000);

  it('is append-only: the store refuses to rewrite an event', async () => {
    await expect(h.svc.store.query(`update user_events set kind = 'x'`)).rejects.toThrow(/append-only/);
  });
});
