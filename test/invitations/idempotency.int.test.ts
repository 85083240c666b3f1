import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, startHttpService, type HttpService } from '../support/http.js';
import { employees } from '../support/store.js';

/** Idempotency-Key on POST /api/rollouts and POST /api/users: retries and double clicks create once. */
let h: HttpService;
let acme: string;
let globex: string;

beforeAll(async () => {
  h = await startHttpService({ workers: false });
  acme = h.tokens.acme.token;
  globex = h.tokens.globex.token;
  await h.svc.sync(employees(5));
});
afterAll(async () => {
  await h?.close();
});

const later = () => new Date(Date.now() + 3_600_000).toISOString();
const count = async (table: string) => Number((await h.svc.store.query<{ n: number }>(`select count(*)::int as n from ${table}`))[0].n);

describe('Idempotency-Key', () => {
  it('two concurrent identical POST /api/rollouts with one key: one rollout, the same answer twice', async () => {
    const ids = await h.svc.userIds();
    const body = { userIds: ids, loginMethod: 'password', sendAt: later() };
    const before = await count('rollouts');
    const headers = { 'idempotency-key': 'retry-1' };
    const [a, b] = await Promise.all([h.call('POST', '/api/rollouts', { token: acme, body, headers }), h.call('POST', '/api/rollouts', { token: acme, body, headers })]);
    expect([a.statusCode, b.statusCode]).toEqual([202, 202]);
    expect(a.json().id).toBe(b.json().id);
    expect(a.json()).toEqual(b.json());
    expect([a.headers['idempotent-replayed'], b.headers['idempotent-replayed']].sort()).toEqual(['false', 'true']);
    expect(await count('rollouts')).toBe(before + 1);
    // later, again: the same
    const c = await h.call('POST', '/api/rollouts', { token: acme, body, headers });
    expect(c.statusCode).toBe(202);
    expect(c.json().id).toBe(a.json().id);
    expect(await count('rollouts')).toBe(before + 1);
  });

  it('the same key with another body: 409, nothing created', async () => {
    const ids = await h.svc.userIds();
    const headers = { 'idempotency-key': 'retry-2' };
    const first = await h.call('POST', '/api/rollouts', { token: acme, body: { userIds: ids, loginMethod: 'password', sendAt: later() }, headers });
    expect(first.statusCode).toBe(202);
    const before = await count('rollouts');
    const other = await h.call('POST', '/api/rollouts', { token: acme, body: { userIds: ids.slice(0, 1), loginMethod: 'sso', sendAt: later() }, headers });
    expect(other.statusCode).toBe(409);
    expect(errorBody(other)).toMatchObject({ code: 'conflict' });
    expect(await count('rollouts')).toBe(before);
  });

  it('keys are per organization', async () => {
    const headers = { 'idempotency-key': 'shared-name' };
    const before = await count('users');
    const a = await h.call('POST', '/api/users', { token: acme, body: { email: 'same.key@acme.example' }, headers });
    const b = await h.call('POST', '/api/users', { token: globex, body: { email: 'same.key@acme.example' }, headers });
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().user.id).not.toBe(b.json().user.id);
    expect(await count('users')).toBe(before + 2);
  });

  it('POST /api/users with invite, sent twice with one key: one user, one rollout', async () => {
    const body = { email: 'twice@acme.example', firstName: 'Twice', invite: { loginMethod: 'sso' } };
    const headers = { 'idempotency-key': 'user-1' };
    const [users0, rollouts0] = [await count('users'), await count('rollouts')];
    const [a, b] = await Promise.all([h.call('POST', '/api/users', { token: acme, body, headers }), h.call('POST', '/api/users', { token: acme, body, headers })]);
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json().user.id).toBe(b.json().user.id);
    expect(a.json().rollout.id).toBe(b.json().rollout.id);
    expect([await count('users'), await count('rollouts')]).toEqual([users0 + 1, rollouts0 + 1]);
  });

  it('refuses a malformed key', async () => {
    const res = await h.call('POST', '/api/users', { token: acme, body: { email: 'k@acme.example' }, headers: { 'idempotency-key': 'x'.repeat(300) } });
    expect(res.statusCode).toBe(400);
  });
});
