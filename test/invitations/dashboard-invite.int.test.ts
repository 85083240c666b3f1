import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpService, type HttpService } from '../support/http.js';
import { employees } from '../support/store.js';
import { csrfOf, DashboardClient } from '../http/dashboard-client.js';

/** The dashboard's invite confirmation: a second submit of the same page shows the rollout the first created. */
let h: HttpService;
let cookie = '';
let csrf = '';

const form = (fields: Array<[string, string]>) => fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
const post = (url: string, fields: Array<[string, string]>) =>
  h.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form([['_csrf', csrf], ...fields]) });

beforeAll(async () => {
  h = await startHttpService({ workers: false });
  await h.svc.sync(employees(3));
  // The browser's part (cookie jar: the session and the CSRF secret; the forms' tokens).
  const browser = new DashboardClient(h.app);
  expect((await browser.signIn(h.tokens.acme.token)).statusCode).toBe(303);
  const users = await browser.get('/dashboard/orgs/acme/users');
  cookie = browser.cookieHeader();
  csrf = csrfOf(users.body);
});
afterAll(async () => {
  await h?.close();
});

describe('dashboard invite confirmation', () => {
  it('carries a one-time key; a second submit redirects to the rollout the first created', async () => {
    const ids = await h.svc.userIds();
    const state: Array<[string, string]> = [['selection', 'ids'], ...ids.map((id): [string, string] => ['userIds', id]), ['loginMethod', 'sso'], ['when', 'now']];
    const preview = await post('/dashboard/orgs/acme/invite', [['step', 'preview'], ...state]);
    expect(preview.statusCode).toBe(200);
    const confirmForm = /<form[^>]*data-submit-once[^>]*>[\s\S]*?<\/form>/.exec(preview.body)?.[0];
    expect(confirmForm).toBeDefined();
    const key = /name="submissionKey" value="([^"]+)"/.exec(confirmForm!)![1]!;
    const before = Number((await h.svc.store.query<{ n: number }>(`select count(*)::int as n from rollouts`))[0].n);
    const confirm = () => post('/dashboard/orgs/acme/invite', [['step', 'confirm'], ['submissionKey', key], ...state]);
    const [a, b] = await Promise.all([confirm(), confirm()]);
    const c = await confirm();
    for (const r of [a, b, c]) expect(r.statusCode).toBe(303);
    const where = (r: typeof a) => String(r.headers.location).split('?')[0];
    expect(where(a)).toMatch(/^\/dashboard\/orgs\/acme\/rollouts\/[0-9a-f-]{36}$/);
    expect(new Set([where(a), where(b), where(c)]).size).toBe(1);
    expect(Number((await h.svc.store.query<{ n: number }>(`select count(*)::int as n from rollouts`))[0].n)).toBe(before + 1);
    // a new preview is a new key: a deliberate second rollout is possible
    const again = await post('/dashboard/orgs/acme/invite', [['step', 'preview'], ...state]);
    expect(/name="submissionKey" value="([^"]+)"/.exec(again.body)![1]).not.toBe(key);
  });

  it('previews an address stored before the one address rule as skipped (invalid_email), as firing would', async () => {
    const ids = await h.svc.userIds();
    // a row from before the validator: the store took it, the mailer would not
    await h.svc.store.query(`update users set email = '.legacy.' || email where id = $1`, [ids[0]]);
    await h.svc.store.query(`update invitations set status = 'revoked' where status in ('pending', 'sending', 'sent')`);
    await h.svc.store.query(`update users set access = 'none'`);
    const state: Array<[string, string]> = [['selection', 'ids'], ...ids.map((id): [string, string] => ['userIds', id]), ['loginMethod', 'sso'], ['when', 'now']];
    const preview = await post('/dashboard/orgs/acme/invite', [['step', 'preview'], ...state]);
    expect(preview.statusCode).toBe(200);
    expect(/data-preview-invite>([^<]*)</.exec(preview.body)![1]).toBe(String(ids.length - 1));
    expect(preview.body).toMatch(/<tr[^>]*data-reason="invalid_email"/);
  });
});
