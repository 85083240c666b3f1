import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { updateUser } from '../../src/users/user-service.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, tokenOf, waitFor, type TestService } from '../support/service.js';
import { employee, employees, type Row } from '../support/store.js';

let sink: SmtpSink;
let svc: TestService;

beforeAll(async () => {
  sink = await startSmtpSink();
  svc = await startTestService({ smtpUrl: sink.url, env: { INVITE_BATCH_SIZE: '7' } });
});
afterAll(async () => {
  await svc?.close();
  await sink?.close();
});
afterEach(() => {
  sink.setFaults({});
  sink.reset();
});

const rollouts = () => svc.ctx.rollouts();
const recipients = () => sink.messages.map((m) => m.envelope.to[0]);
let next = 1_000;
/** Every employee in the HR export so far: each sync lists them all again, as HR would. */
const hr = new Map<number, Row>();
/** Fresh employees for one test: synced (never invited), their ids returned. */
async function hire(n: number, over: (i: number) => Partial<Row> = () => ({})): Promise<string[]> {
  const from = next;
  next += n;
  for (let k = 0; k < n; k++) hr.set(from + k, employee(from + k, over(from + k)));
  await svc.sync([...hr.values()]);
  const rows = await svc.store.query<{ id: string }>(`select id from users where organization_id = $1 and external_id = any($2) order by seq`, [svc.org, Array.from({ length: n }, (_, k) => `E${from + k}`)]);
  return rows.map((r) => r.id);
}
async function rolloutDone(id: string, status = 'completed') {
  return waitFor(async () => {
    const r = await rollouts().get(id);
    return r && r.status === status ? r : null;
  }, 20_000);
}

describe('rollouts', () => {
  it('sends nothing before sendAt and everything within two seconds after; one message each, with a working token', async () => {
    const ids = await hire(20);
    const sendAt = new Date(Date.now() + 3_000);
    const r = await rollouts().create(svc.org, { userIds: ids, loginMethod: 'password', sendAt: sendAt.toISOString() });
    expect(r).toMatchObject({ status: 'scheduled', counts: { targeted: 0 } });
    await new Promise((res) => setTimeout(res, sendAt.getTime() - Date.now() - 300));
    expect(sink.messages).toHaveLength(0);
    await sink.waitForMessages(20, 10_000);
    const lastAt = Date.now();
    expect(lastAt - sendAt.getTime()).toBeLessThan(2_000);
    const done = await rolloutDone(r.id);
    expect(done.counts).toMatchObject({ targeted: 20, sent: 20, pending: 0, failed: 0 });
    expect(new Set(recipients()).size).toBe(20);
    await new Promise((res) => setTimeout(res, 300));
    expect(sink.messages).toHaveLength(20); // no duplicates trickling in
    const users = await svc.store.query(`select access from users where id = any($1)`, [ids]);
    expect(users.every((u) => u.access === 'invited')).toBe(true);
    const token = tokenOf(sink.messages[0].text);
    expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(16);
    const { userId } = await rollouts().accept(token);
    expect(ids).toContain(userId);
    expect((await svc.store.query(`select access from users where id = $1`, [userId]))[0].access).toBe('active');
    // stored only as a hash
    const stored = await svc.store.query(`select count(*)::int as n from invitations where token_hash = $1`, [token]);
    expect(stored[0].n).toBe(0);
  });

  it('keeps access through a later sync, and never invites on role, location or group changes', async () => {
    const ids = await hire(3);
    const r = await rollouts().create(svc.org, { userIds: [ids[0]], loginMethod: 'sso' });
    await rolloutDone(r.id);
    expect(sink.messages).toHaveLength(1);
    await hire(0); // a sync of the same export
    await updateUser(svc.ctx.em(), ids[1], { roles: ['asset_manager'], location: 'Hamburg', groups: ['Warehouse'] });
    await updateUser(svc.ctx.em(), ids[0], { roles: ['admin'] });
    await new Promise((res) => setTimeout(res, 1_500)); // a reconcile pass included
    expect(sink.messages).toHaveLength(1);
    const rows = await svc.store.query(`select id, access from users where id = any($1)`, [ids]);
    expect(Object.fromEntries(rows.map((u) => [u.id, u.access]))).toEqual({ [ids[0]]: 'invited', [ids[1]]: 'none', [ids[2]]: 'none' });
  });

  it('changes no roles, location or groups when it invites or when the invitation is accepted', async () => {
    const ids = await hire(2);
    await updateUser(svc.ctx.em(), ids[0], { roles: ['asset_manager', 'location_admin'], location: 'Hamburg', groups: ['Warehouse'] });
    const placement = () => svc.store.query<{ id: string; roles: string[]; location_id: string | null; groups: string[] }>(
      `select u.id, u.roles, u.location_id, array(select gm.group_id::text from group_memberships gm where gm.user_id = u.id order by 1) as groups
         from users u where u.id = any($1) order by u.seq`,
      [ids],
    );
    const before = await placement();
    expect(before[0].roles).toEqual(['asset_manager', 'location_admin']);
    expect(before[1].roles).toEqual([]);
    const r = await rollouts().create(svc.org, { userIds: ids, loginMethod: 'password' });
    await rolloutDone(r.id);
    expect(await placement()).toEqual(before);
    for (const m of sink.messages) await rollouts().accept(tokenOf(m.text));
    expect((await svc.store.query(`select access from users where id = any($1)`, [ids])).map((u) => u.access)).toEqual(['active', 'active']);
    expect(await placement()).toEqual(before);
  });

  it('sends nothing when cancelled before sendAt', async () => {
    const ids = await hire(5);
    const r = await rollouts().create(svc.org, { userIds: ids, loginMethod: 'password', sendAt: new Date(Date.now() + 1_000).toISOString() });
    const cancelled = await rollouts().cancel(r.id);
    expect(cancelled.status).toBe('cancelled');
    await new Promise((res) => setTimeout(res, 2_000));
    expect(sink.messages).toHaveLength(0);
    expect((await rollouts().get(r.id))!.status).toBe('cancelled');
  });

  it('stops sending on pause and completes on resume, still exactly one message each', async () => {
    const ids = await hire(60);
    sink.setFaults({ delayMs: 40 });
    const r = await rollouts().create(svc.org, { userIds: ids, loginMethod: 'magic_link' });
    await waitFor(async () => sink.messages.length >= 5);
    const paused = await rollouts().pause(r.id);
    expect(paused.status).toBe('paused');
    await new Promise((res) => setTimeout(res, 600)); // in-flight messages land
    const atPause = sink.messages.length;
    await new Promise((res) => setTimeout(res, 1_500));
    expect(sink.messages.length).toBe(atPause);
    expect(atPause).toBeLessThan(60);
    await rollouts().resume(r.id);
    const done = await rolloutDone(r.id);
    expect(done.counts).toMatchObject({ sent: 60, pending: 0 });
    expect(sink.messages).toHaveLength(60);
    expect(new Set(recipients()).size).toBe(60);
  });

  it('skips deactivated users, users without access to gain, and those already invited — each reason counted', async () => {
    const ids = await hire(6);
    await updateUser(svc.ctx.em(), ids[0], { status: 'deactivated' });
    await svc.store.query(`update users set access = 'active' where id = $1`, [ids[1]]);
    await svc.store.query(`update users set access = 'invited' where id = $1`, [ids[2]]);
    await svc.store.query(`update users set email = null where id = $1`, [ids[3]]);
    const r = await rollouts().create(svc.org, { userIds: [...ids, '00000000-0000-4000-8000-000000000000'], loginMethod: 'password' });
    const done = await rolloutDone(r.id);
    expect(done.counts).toMatchObject({ targeted: 2, sent: 2, skipped: 5 });
    expect(done.skippedByReason).toEqual({ deactivated: 1, already_active: 1, already_invited: 1, no_email: 1, not_found: 1 });
    // resend reaches the invited one (not the active one), and revokes the old link
    const again = await rollouts().create(svc.org, { userIds: [ids[2], ids[4]], loginMethod: 'password', resend: true });
    const d2 = await rolloutDone(again.id);
    expect(d2.counts).toMatchObject({ targeted: 2, sent: 2 });
    const first = sink.messages.find((m) => m.envelope.to[0] === 'person' + (next - 2) + '@acme.example');
    expect(first).toBeDefined();
    const tokens = sink.messages.filter((m) => m.envelope.to[0] === first!.envelope.to[0]).map((m) => tokenOf(m.text));
    expect(tokens).toHaveLength(2);
    await expect(rollouts().accept(tokens[0])).rejects.toMatchObject({ code: 'invitation_invalid' });
    await expect(rollouts().accept(tokens[1])).resolves.toMatchObject({ organizationId: svc.org });
  });

  it('selects by filter when the rollout fires, not when it is created', async () => {
    const ids = await hire(4, () => ({ location: 'Atlantis' }));
    const r = await rollouts().create(svc.org, { filter: { location: 'atlantis', access: 'none' }, loginMethod: 'password', sendAt: new Date(Date.now() + 800).toISOString() });
    const late = await hire(1, () => ({ location: 'Atlantis' }));
    const done = await rolloutDone(r.id);
    expect(done.counts.targeted).toBe(5);
    expect(new Set(recipients()).size).toBe(5);
    expect(ids.length + late.length).toBe(5);
  });

  it('escapes HTML and script in names, organization and message', async () => {
    const [id] = await hire(1, () => ({ firstName: '<script>alert(1)</script>', lastName: `O'Brien "<b>"` }));
    const r = await rollouts().create(svc.org, { userIds: [id], loginMethod: 'password', message: 'Welcome <img src=x onerror=alert(1)>\nSee you & "soon"' });
    await rolloutDone(r.id);
    const html = sink.messages[0].html!;
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('Acme &lt;GmbH&gt; &amp;');
    expect(sink.messages[0].text).toContain('Welcome <img src=x onerror=alert(1)>');
  });

  it('retries a 451 and fails only the invitation whose address gets a 550', async () => {
    const ids = await hire(10);
    const rows = await svc.store.query<{ email: string; id: string }>(`select id, email from users where id = any($1)`, [ids]);
    const rejected = rows[3].email;
    // replies that name the recipient, as Postfix's do: no address may reach a log line (the log audit) or the store
    sink.setFaults({
      transient: { count: 2, recipients: [rows[5].email], message: `4.2.0 <${rows[5].email}>: Recipient address rejected: Greylisted, try again later` },
      reject: { recipients: [rejected], message: `5.1.1 <${rejected}>: Recipient address rejected: User unknown in virtual mailbox table` },
    });
    const r = await rollouts().create(svc.org, { userIds: ids, loginMethod: 'password' });
    const done = await rolloutDone(r.id);
    expect(done.counts).toMatchObject({ targeted: 10, sent: 9, failed: 1, pending: 0 });
    expect(recipients()).not.toContain(rejected);
    expect(recipients().filter((t) => t === rows[5].email)).toHaveLength(1);
    expect(sink.stats.transientReplies).toBeGreaterThanOrEqual(2);
    const inv = await svc.store.query(`select status, last_error from invitations where rollout_id = $1 and user_id = $2`, [r.id, rows[3].id]);
    expect(inv[0]).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/recipient_rejected|550/) });
    const stored = JSON.stringify(await svc.store.query(`select i.*, r.* from invitations i join rollouts r on r.id = i.rollout_id where r.id = $1`, [r.id]));
    for (const address of [rejected, rows[5].email]) expect(stored).not.toContain(address);
    expect((await svc.store.query(`select access from users where id = $1`, [rows[3].id]))[0].access).toBe('none');
  });

  it('refuses a token used twice, an expired token, and a token of another organization, all alike', async () => {
    const ids = await hire(3);
    const r = await rollouts().create(svc.org, { userIds: ids, loginMethod: 'password' });
    await rolloutDone(r.id);
    const [t1, t2, t3] = sink.messages.map((m) => tokenOf(m.text));
    await rollouts().accept(t1);
    const twice = await rollouts().accept(t1).catch((e) => e);
    await svc.store.query(`update invitations set expires_at = now() - interval '1 minute' where rollout_id = $1 and status = 'sent'`, [r.id]);
    const expired = await rollouts().accept(t2).catch((e) => e);
    await svc.store.query(`update invitations set expires_at = now() + interval '1 day' where rollout_id = $1 and status = 'sent'`, [r.id]);
    const otherOrg = await rollouts().accept(t3, 'globex').catch((e) => e);
    const unknown = await rollouts().accept('x'.repeat(43)).catch((e) => e);
    for (const e of [twice, expired, otherOrg, unknown]) {
      expect(e).toMatchObject({ code: 'invitation_invalid', message: 'this invitation link is invalid or has expired' });
    }
    await expect(rollouts().accept(t3, svc.org)).resolves.toMatchObject({ organizationId: svc.org });
  });

  it('invites a user created by hand with invite, right away (a rollout of one)', async () => {
    const { user, rollout } = await rollouts().createUser(svc.org, { email: 'new.hire@acme.example', firstName: 'New' }, { loginMethod: 'sso', message: 'Hi!' });
    expect(user.access).toBe('none');
    await rolloutDone(rollout!.id);
    expect(recipients()).toEqual(['new.hire@acme.example']);
    const plain = await rollouts().createUser(svc.org, { email: 'no.invite@acme.example' });
    expect(plain.rollout).toBeNull();
    await new Promise((res) => setTimeout(res, 500));
    expect(sink.messages).toHaveLength(1);
  });

  it('cancels pending invitations of a user deactivated by sync, and the link sent stops working', async () => {
    const ids = await hire(4);
    const r = await rollouts().create(svc.org, { userIds: ids, loginMethod: 'password' });
    await rolloutDone(r.id);
    const leaver = next - 1;
    const token = tokenOf(sink.messages.find((m) => m.envelope.to[0] === `person${leaver}@acme.example`)!.text);
    hr.delete(leaver);
    await svc.sync([...hr.values()]);
    expect((await svc.store.query(`select status from users where external_id = $1`, [`E${leaver}`]))[0].status).toBe('deactivated');
    await expect(rollouts().accept(token)).rejects.toMatchObject({ code: 'invitation_invalid' });
    const inv = await svc.store.query(`select i.status from invitations i join users u on u.id = i.user_id where u.external_id = $1`, [`E${leaver}`]);
    expect(inv).toEqual([{ status: 'revoked' }]);
  });
});

describe('rollout inputs', () => {
  it.each([
    [{ loginMethod: 'password' }, /userIds or a filter/],
    [{ userIds: ['not-a-uuid'], loginMethod: 'password' }, /not a user id/],
    [{ filter: {}, loginMethod: 'carrier_pigeon' }, /loginMethod/],
    [{ filter: { location: 'x' }, loginMethod: 'password', message: 'x'.repeat(501) }, /500/],
    [{ filter: { nope: 'x' }, loginMethod: 'password' }, /nope|unrecognized/i],
  ])('refuses %j', async (input, msg) => {
    await expect(rollouts().create(svc.org, input as never)).rejects.toThrow(msg);
  });
  void employees;
});
