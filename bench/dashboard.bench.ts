/**
 * Dashboard benchmark (by hand: `npx tsx bench/dashboard.bench.ts`; BENCH_USERS=20000 for a
 * smaller run). N users (100,000 by default) in one organization, 10 locations, 40 groups,
 * every user in 2 groups, inserted in bulk SQL (not timed). Then, through the app's HTTP
 * routes (fastify inject, signed in as the organization, CSRF and all), each timed 5 times
 * (median and max):
 *   - GET the users list, first page and page 20, with a group filter (listUsers + count);
 *   - "All N matching" → the invite draft (POST /invite) → the options (POST /invite/:draft);
 *   - the preview (GET /invite/:draft/preview): who would be invited, who skipped and why;
 *   - the confirm (POST /invite/:draft/confirm): the rollout created (a filter, resolved when it fires);
 * and the same with a search text ("all matching 'example'"). EXPLAIN ANALYZE of the group-
 * filtered page is printed. No workers: the rollouts stay scheduled. The database is the
 * test store's own (dropped at the end).
 */
import { performance } from 'node:perf_hooks';
import { startHttpService, type HttpService } from '../test/support/http.js';
import { loadLine, machineLine } from './lib/machine.js';

const N = Number(process.env.BENCH_USERS ?? 100_000);
const REPS = 5;

const setCookies = (res: { headers: Record<string, unknown> }) => {
  const v = res.headers['set-cookie'];
  return (Array.isArray(v) ? v : [v]).filter(Boolean).map((c) => String(c).split(';')[0]!);
};
const form = (fields: Array<[string, string]>) => fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');

async function main(): Promise<void> {
  const h: HttpService = await startHttpService({ workers: false });
  try {
    const q = h.svc.store.query.bind(h.svc.store);
    console.log(machineLine());
    console.log(`seeding ${N.toLocaleString('en')} users…`);
    await q(`insert into locations (organization_id, name) select 'acme', 'Location ' || i from generate_series(1, 10) i`);
    await q(`insert into groups (organization_id, name) select 'acme', 'Group ' || i from generate_series(1, 40) i`);
    await q(`insert into users (organization_id, email, first_name, last_name, external_id, connector_id, source, location_id)
             select 'acme', 'user' || i || '@example.com', 'First' || i, 'Last' || i, 'B' || i, 'acme-hr', 'sync',
                    (select id from locations where organization_id = 'acme' and name = 'Location ' || (i % 10 + 1))
               from generate_series(1, $1::int) i`, [N]);
    await q(`insert into group_memberships (user_id, group_id)
             select u.id, g.id from users u join groups g on g.organization_id = 'acme'
                and (g.name = 'Group ' || (u.seq % 40 + 1) or g.name = 'Group ' || ((u.seq + 7) % 40 + 1))
              where u.organization_id = 'acme'`);
    await q(`analyze users; analyze group_memberships; analyze groups; analyze locations`);
    const group = (await q<{ id: string }>(`select id from groups where organization_id = 'acme' and name = 'Group 3'`))[0]!.id;

    // Sign in as acme.
    const page0 = await h.app.inject({ method: 'GET', url: '/dashboard/sign-in' });
    const nonce = /name="_csrf" value="([^"]+)"/.exec(page0.body)![1]!;
    const signIn = await h.app.inject({ method: 'POST', url: '/dashboard/sign-in', headers: { cookie: setCookies(page0).join('; '), 'content-type': 'application/x-www-form-urlencoded' }, payload: form([['_csrf', nonce], ['token', h.tokens.acme.token]]) });
    let cookie = setCookies(signIn).filter((c) => c.startsWith('hrsync_session=')).join('; ');
    const users = await h.app.inject({ method: 'GET', url: '/dashboard/orgs/acme/users', headers: { cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(users.body)![1]!;
    cookie = [cookie, ...setCookies(users).filter((c) => c.startsWith('hrsync_csrf='))].join('; ');
    const get = (url: string) => h.app.inject({ method: 'GET', url, headers: { cookie } });
    const post = (url: string, fields: Array<[string, string]>) => h.app.inject({ method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: form([['_csrf', csrf], ...fields]) });

    const rows: string[] = [];
    const time = async (label: string, fn: () => Promise<{ statusCode: number }>, expectStatus: number, reps = REPS) => {
      const ms: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t = performance.now();
        const r = await fn();
        ms.push(performance.now() - t);
        if (r.statusCode !== expectStatus) throw new Error(`${label}: ${r.statusCode}`);
      }
      ms.sort((a, b) => a - b);
      const line = `| ${label} | ${ms[Math.floor(ms.length / 2)]!.toFixed(0)} ms | ${ms[ms.length - 1]!.toFixed(0)} ms |`;
      rows.push(line);
      console.log(line);
    };

    await time('users list, group filter, page 1 (50)', () => get(`/dashboard/orgs/acme/users?groupId=${group}`), 200);
    const p20 = Buffer.from(`u:${Math.floor(N / 2)}`).toString('base64url');
    await time('users list, group filter, from the middle (50)', () => get(`/dashboard/orgs/acme/users?groupId=${group}&cursor=${p20}&page=20`), 200);
    await time('users list, search "example", page 1 (50)', () => get(`/dashboard/orgs/acme/users?q=example`), 200);

    for (const [name, filters] of [[`all ${N.toLocaleString('en')} users`, []], [`all matching search "example"`, [['f_q', 'example']]]] as Array<[string, Array<[string, string]>]>) {
      let draft = '';
      await time(`${name}: selection → draft`, async () => {
        const r = await post('/dashboard/orgs/acme/invite', [['selection', 'filter'], ...filters]);
        draft = String(r.headers.location);
        return r;
      }, 303);
      await time(`${name}: options saved`, () => post(draft, [['loginMethod', 'sso'], ['when', 'now']]), 303, 1);
      await time(`${name}: preview`, () => get(`${draft}/preview`), 200);
      const preview = await get(`${draft}/preview`);
      if (!preview.body.includes(`data-preview-invite>${N.toLocaleString('en-US')}<`)) throw new Error(`${name}: the preview does not invite ${N}`);
      const key = /name="submissionKey" value="([^"]+)"/.exec(preview.body)![1]!;
      await time(`${name}: confirm (rollout created)`, () => post(`${draft}/confirm`, [['submissionKey', key]]), 303, 1);
      await time(`${name}: confirm again (lands on it)`, () => post(`${draft}/confirm`, [['submissionKey', key]]), 303);
    }
    const rollouts = await q<{ n: number }>(`select count(*)::int as n from rollouts`);
    console.log(`rollouts created: ${rollouts[0]!.n} (2 expected)`);

    const plan = await q<{ 'QUERY PLAN': string }>(`explain (analyze, buffers off, costs off)
      with page as (select u.* from users u where u.organization_id = 'acme' and u.id in (select gm.user_id from group_memberships gm where gm.group_id = '${group}') order by u.seq limit 51)
      select count(*) from page`);
    console.log(plan.map((r) => r['QUERY PLAN']).join('\n'));
    console.log(loadLine());
    console.log(['| step | median | max |', '| --- | --- | --- |', ...rows].join('\n'));
  } finally {
    await h.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
