import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../src/auth/tokens.js';
import { errorBody, sleep, startHttpService, type HttpService } from '../support/http.js';
import { auditSecrets } from '../support/log-audit.js';
import { employee } from '../support/store.js';

/**
 * Per-token limits on the bulk routes (POST /api/rollouts, POST /api/connectors/:id/sync):
 * BULK_PER_MINUTE requests a minute, counted in Redis, and BULK_CONCURRENCY at once; over
 * either a 429 with Retry-After, answered before the body is read. Other tokens go on.
 */
let h: HttpService;
let users: string[];
const PER_MINUTE = 3;

beforeAll(async () => {
  h = await startHttpService({ workers: false, env: { BULK_PER_MINUTE: String(PER_MINUTE), BULK_CONCURRENCY: '1', BULK_CONCURRENCY_TOTAL: '2' } });
  await h.svc.sync([employee(1), employee(2), employee(3)]);
  users = (await h.svc.userIds()).slice(0, 3);
});
afterAll(async () => {
  await h?.close();
});

const rollout = (k: number) => ({ userIds: [users[k % users.length]], loginMethod: 'password', sendAt: new Date(Date.now() + 86_400_000).toISOString() });

describe('bulk requests per token', () => {
  it('answers 429 with Retry-After past the per-minute limit, before reading the body, while other tokens go on', async () => {
    for (let k = 0; k < PER_MINUTE; k++) {
      const res = await h.call('POST', '/api/rollouts', { token: h.tokens.acme.token, body: rollout(k) });
      expect(res.statusCode, `request ${k + 1}`).toBe(202);
    }
    const rollouts = await h.svc.store.query(`select id from rollouts`);
    const over = await h.call('POST', '/api/rollouts', { token: h.tokens.acme.token, body: rollout(9) });
    expect(over.statusCode).toBe(429);
    expect(errorBody(over).code).toBe('rate_limited');
    const retryAfter = Number(over.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // the budget is the token's, across the bulk routes: a sync trigger is refused as well
    expect((await h.call('POST', '/api/connectors/acme-hr/sync', { token: h.tokens.acme.token, body: { dryRun: true } })).statusCode).toBe(429);
    // refused before its body is read: 17 MB (over the 16 MB bulk limit) is a 429, not a 413
    const big = await h.call('POST', '/api/rollouts', { token: h.tokens.acme.token, raw: `{"userIds":[${'"x",'.repeat(4_500_000)}"x"]}` });
    expect(big.statusCode).toBe(429);
    expect(await h.svc.store.query(`select id from rollouts`)).toHaveLength(rollouts.length);
    // other tokens have budgets of their own; ordinary routes are not limited
    expect((await h.call('POST', '/api/rollouts', { token: h.tokens.globex.token, body: { filter: { status: 'active' }, loginMethod: 'password' } })).statusCode).toBe(202);
    expect((await h.call('GET', '/api/rollouts', { token: h.tokens.acme.token })).statusCode).toBe(200);
  });

  it('answers 429 to a second bulk request of a token while its first is still being received', async () => {
    const admin = h.adminToken;
    const body = new PassThrough();
    const first = h.app.inject({ method: 'POST', url: '/api/rollouts', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, payload: body });
    body.write('{"organizationId":"acme","loginMethod":"password","userIds":[');
    await sleep(200); // the first holds the token's one slot while its body trickles in
    const second = await h.call('POST', '/api/rollouts', { token: admin, body: { ...rollout(0), organizationId: 'acme' } });
    expect(second.statusCode).toBe(429);
    expect(errorBody(second).message).toMatch(/at once/);
    expect(Number(second.headers['retry-after'])).toBeGreaterThan(0);
    // another token is not held back by it
    const other = await h.call('POST', '/api/connectors/globex-hr/sync', { token: h.tokens.globex.token, body: { dryRun: true } });
    expect(other.statusCode).toBe(202);
    // and the process as a whole takes only BULK_CONCURRENCY_TOTAL (2) at once, whatever the tokens
    const fresh = await createToken(h.svc.ctx.em(), 'acme', 'second');
    const more = await createToken(h.svc.ctx.em(), 'acme', 'third');
    auditSecrets(fresh.token, more.token);
    const body2 = new PassThrough();
    const held = h.app.inject({ method: 'POST', url: '/api/connectors/acme-hr/sync', headers: { authorization: `Bearer ${fresh.token}`, 'content-type': 'application/json' }, payload: body2 });
    body2.write('{"dryRun":');
    await sleep(200);
    const busy = await h.call('POST', '/api/connectors/acme-hr/sync', { token: more.token, body: { dryRun: true } });
    expect(busy.statusCode).toBe(429);
    expect(errorBody(busy).message).toMatch(/busy with other bulk requests/);
    body2.end('true}');
    expect((await held).statusCode).toBe(202);
    body.end(`"${users[0]}"],"sendAt":"${new Date(Date.now() + 86_400_000).toISOString()}"}`);
    expect((await first).statusCode).toBe(202);
    // the slot is free again once the first is answered
    const after = await h.call('POST', '/api/rollouts', { token: admin, body: { ...rollout(1), organizationId: 'acme' } });
    expect(after.statusCode).toBe(202);
  });
});
