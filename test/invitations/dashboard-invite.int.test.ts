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

const get = (url: string) => h.app.inject({ method: 'GET', url, headers: { cookie } });
const rolloutCount = async () => Number((await h.svc.store.query<{ n: number }>(`select count(*)::int as n from rollouts`))[0].n);
const loc = (r: { headers: Record<string, unknown> }) => String(r.headers.location).split('?')[0];

/** The selection → a draft → the form's values → the preview's URL. */
async function draftFor(ids: string[]): Promise<{ draft: string; preview: string }> {
  const start = await post('/dashboard/orgs/acme/invite', [['selection', 'ids'], ...ids.map((id): [string, string] => ['userIds', id])]);
  expect(start.statusCode).toBe(303);
  const draft = loc(start);
  expect(draft).toMatch(/^\/dashboard\/orgs\/acme\/invite\/[0-9a-f-]{36}$/);
  const saved = await post(draft, [['loginMethod', 'sso'], ['when', 'now'], ['message', 'Welcome']]);
  expect(saved.statusCode).toBe(303);
  expect(loc(saved)).toBe(`${draft}/preview`);
  return { draft, preview: loc(saved) };
}

describe('dashboard invite confirmation', () => {
  it('the preview is a GET of a saved draft whose confirm form carries a one-time key; a second confirm, concurrent or later, and the preview after it, land on the rollout the first created', async () => {
    const ids = await h.svc.userIds();
    const { draft, preview } = await draftFor(ids);
    const page = await get(preview);
    expect(page.statusCode).toBe(200);
    const confirmForm = /<form[^>]*data-submit-once[^>]*>[\s\S]*?<\/form>/.exec(page.body)?.[0];
    expect(confirmForm).toBeDefined();
    expect(confirmForm).toContain(`action="${draft}/confirm"`);
    const key = /name="submissionKey" value="([^"]+)"/.exec(confirmForm!)![1]!;
    // Reloading the preview is a GET: the same key, nothing created.
    expect(/name="submissionKey" value="([^"]+)"/.exec((await get(preview)).body)![1]).toBe(key);
    const before = await rolloutCount();
    const confirm = () => post(`${draft}/confirm`, [['submissionKey', key]]);
    const [a, b] = await Promise.all([confirm(), confirm()]);
    const c = await confirm();
    for (const r of [a, b, c]) expect(r.statusCode).toBe(303);
    expect(loc(a)).toMatch(/^\/dashboard\/orgs\/acme\/rollouts\/[0-9a-f-]{36}$/);
    expect(new Set([loc(a), loc(b), loc(c)]).size).toBe(1);
    expect(await rolloutCount()).toBe(before + 1);
    // Back to the preview or the form after confirming: the rollout, not another button.
    for (const url of [preview, draft]) {
      const again = await get(url);
      expect(again.statusCode).toBe(303);
      expect(loc(again)).toBe(loc(a));
    }
    expect(await rolloutCount()).toBe(before + 1);
  });

  it('refuses "Send 0 invitations": no confirm button, and a confirm anyway creates nothing', async () => {
    const ids = await h.svc.userIds();
    // A deactivated user is skipped: a rollout of only them would send nothing.
    await h.svc.store.query(`update users set status = 'deactivated' where id = $1`, [ids[0]]);
    const { draft, preview } = await draftFor([ids[0]!]);
    const page = await get(preview);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('data-nothing-to-send');
    expect(page.body).not.toContain('data-submit-once');
    const key = (await h.svc.store.query<{ k: string }>(`select confirm_key::text as k from dashboard_invite_drafts where id = $1`, [draft.split('/').pop()]))[0].k;
    const before = await rolloutCount();
    const res = await post(`${draft}/confirm`, [['submissionKey', key]]);
    expect(res.statusCode).toBe(303);
    expect(String(res.headers.location)).toBe(`${preview}?error=empty`);
    expect(await rolloutCount()).toBe(before);
    // Once someone can be invited again, the preview offers a fresh key that works.
    await h.svc.store.query(`update users set status = 'active' where id = $1`, [ids[0]]);
    const again = await get(preview);
    const fresh = /name="submissionKey" value="([^"]+)"/.exec(again.body)?.[1];
    expect(fresh).toBeDefined();
    expect(fresh).not.toBe(key);
    const ok = await post(`${draft}/confirm`, [['submissionKey', fresh!]]);
    expect(loc(ok)).toMatch(/^\/dashboard\/orgs\/acme\/rollouts\/[0-9a-f-]{36}$/);
    expect(await rolloutCount()).toBe(before + 1);
    await h.svc.store.query(`update users set status = 'active' where id = $1`, [ids[0]]);
  });

  it('a message over 500 characters is refused with its length, not cut', async () => {
    const ids = await h.svc.userIds();
    const start = await post('/dashboard/orgs/acme/invite', [['selection', 'ids'], ['userIds', ids[0]!]]);
    const res = await post(loc(start), [['loginMethod', 'sso'], ['when', 'now'], ['message', 'x'.repeat(520)]]);
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('this one has 520');
    expect(res.body).toContain('x'.repeat(520));
  });

  it('previews an address stored before the one address rule as skipped (invalid_email), as firing would', async () => {
    const ids = await h.svc.userIds();
    // a row from before the validator: the store took it, the mailer would not
    await h.svc.store.query(`update users set email = '.legacy.' || email where id = $1`, [ids[0]]);
    await h.svc.store.query(`update invitations set status = 'revoked' where status in ('pending', 'sending', 'sent')`);
    await h.svc.store.query(`update users set access = 'none'`);
    const { preview } = await draftFor(ids);
    const page = await get(preview);
    expect(page.statusCode).toBe(200);
    expect(/data-preview-invite>([^<]*)</.exec(page.body)![1]).toBe(String(ids.length - 1));
    expect(page.body).toMatch(/<tr[^>]*data-reason="invalid_email"/);
  });
});
