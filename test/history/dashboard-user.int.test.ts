import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpService, type HttpService } from '../support/http.js';
import { writeFileSync } from 'node:fs';
import { employee, employees, toCsv } from '../support/store.js';

/** The user's dashboard page: the history timeline, and "Sync this person" (a look-up by id now, never an invitation). */
let h: HttpService;
let cookie = '';
let csrf = '';
let userId = '';

const setCookies = (res: { headers: Record<string, unknown> }) => {
  const v = res.headers['set-cookie'];
  return (Array.isArray(v) ? v : [v]).filter(Boolean).map((c) => String(c).split(';')[0]!);
};
const form = (fields: Array<[string, string]>) => fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');

beforeAll(async () => {
  h = await startHttpService({ workers: false });
  await h.svc.sync(employees(3));
  userId = (await h.svc.store.query<{ id: string }>(`select id from users where external_id = 'E2'`))[0].id;
  const page = await h.app.inject({ method: 'GET', url: '/dashboard/sign-in' });
  const nonce = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const signIn = await h.app.inject({
    method: 'POST',
    url: '/dashboard/sign-in',
    headers: { cookie: setCookies(page).join('; '), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form([['_csrf', nonce], ['token', h.tokens.acme.token]]),
  });
  expect(signIn.statusCode).toBe(303);
  cookie = setCookies(signIn).filter((c) => c.startsWith('hrsync_session=')).join('; ');
});
afterAll(async () => {
  await h?.close();
});

const userPage = () => h.app.inject({ method: 'GET', url: `/dashboard/orgs/acme/users/${userId}`, headers: { cookie } });

describe('the user page', () => {
  it('shows the timeline and a "Sync this person" button that applies HR\'s record now', async () => {
    const first = await userPage();
    expect(first.statusCode).toBe(200);
    expect(first.body).toContain('History');
    expect(first.body).toMatch(/Created[\s\S]*run <a href="\/dashboard\/orgs\/acme\/runs\/[0-9a-f-]{36}"/);
    expect(first.body).toContain('Sync this person');
    csrf = /name="_csrf" value="([^"]+)"/.exec(first.body)![1]!;
    // the form token's secret travels in its own cookie
    cookie = [cookie, ...setCookies(first).filter((c) => c.startsWith('hrsync_csrf='))].join('; ');

    // HR renames E2; the person is synced from the page, no full run
    const runsBefore = Number((await h.svc.store.query<{ n: number }>(`select count(*)::int as n from sync_runs`))[0].n);
    const exportPath = String(h.svc.ctx.config.organizations[0].connectors[0].options.path);
    writeFileSync(exportPath, toCsv([employee(1), employee(2, { lastName: 'Renamed' }), employee(3)]));
    const res = await h.app.inject({ method: 'POST', url: `/dashboard/orgs/acme/users/${userId}/sync`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form([['_csrf', csrf]]) });
    expect(res.statusCode, res.body.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(0, 600)).toBe(303);
    expect(String(res.headers.location)).toBe(`/dashboard/orgs/acme/users/${userId}?notice=person_synced`);
    const [run] = await h.svc.store.query<{ trigger: string; n: number }>(`select trigger, (select count(*)::int from sync_runs) as n from sync_runs order by started_at desc limit 1`);
    expect(run.trigger).toBe('on_demand');
    expect(run.n).toBe(runsBefore + 1);
    expect((await h.svc.store.query<{ last_name: string }>(`select last_name from users where id = $1`, [userId]))[0].last_name).toBe('Renamed');
    expect(await h.svc.store.query(`select 1 from invitations`)).toHaveLength(0);
    const after = await h.app.inject({ method: 'GET', url: String(res.headers.location), headers: { cookie } });
    expect(after.body).toContain('Synced: this person was looked up');
    expect(after.body).toMatch(/Fields changed[\s\S]*lastName[\s\S]*Last2 → Renamed/);
  });

  it('refuses the button without the form token, and for another organization\'s user', async () => {
    const noCsrf = await h.app.inject({ method: 'POST', url: `/dashboard/orgs/acme/users/${userId}/sync`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
    expect(noCsrf.statusCode).toBe(403);
    const other = await h.app.inject({ method: 'POST', url: `/dashboard/orgs/globex/users/${userId}/sync`, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form([['_csrf', csrf]]) });
    expect([403, 404]).toContain(other.statusCode);
  });
});
