import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, localDate } from '../../src/domain/zoned-time.js';
import { ruleMoment } from '../../src/domain/rule-plan.js';
import { csrfOf, DashboardClient } from '../http/dashboard-client.js';
import { startHttpService, type HttpService } from '../support/http.js';
import { employee } from '../support/store.js';

/** The rules API: create, preview (saved and unsaved), enable/disable with an audit, tenancy, bad input; a location's time zone. */
let h: HttpService;
beforeAll(async () => {
  h = await startHttpService({ workers: false });
  const start = addDays(localDate(new Date(), 'UTC'), 20);
  await h.svc.sync([
    employee(1, { location: 'Berlin', department: 'Sales', startDate: start, managerId: '' }),
    employee(2, { location: 'Berlin', department: 'Sales', startDate: '2020-01-01', managerId: '' }),
    employee(3, { location: 'Paris', department: 'Sales', startDate: start, managerId: '' }),
  ]);
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const acme = () => h.tokens.acme.token;
const body = { name: 'Berlin joiners', filter: { location: 'Berlin' }, daysBefore: 3, localTime: '09:00', loginMethod: 'sso' };

describe('rules API', () => {
  it('previews an unsaved rule, creates it switched off, previews it, enables and disables it with an audit', async () => {
    const start = addDays(localDate(new Date(), 'UTC'), 20);
    const pre = await h.call('POST', '/api/rules/preview', { token: acme(), body });
    expect(pre.statusCode).toBe(200);
    // Berlin has no zone yet: the organization's default (UTC)
    expect(pre.json().data.map((p: { firstName: string; at: string; timeZone: string }) => [p.firstName, p.at, p.timeZone])).toEqual([
      ['First1', ruleMoment({ daysBefore: 3, localTime: '09:00' }, start, 'UTC').toISOString(), 'UTC'],
    ]);
    const berlin = (await h.call('GET', '/api/locations', { token: acme() })).json().data.find((l: { name: string }) => l.name === 'Berlin');
    expect((await h.call('PUT', `/api/locations/${berlin.id}/time-zone`, { token: acme(), body: { timeZone: 'Mars/Olympus' } })).statusCode).toBe(400);
    expect((await h.call('PUT', `/api/locations/${berlin.id}/time-zone`, { token: h.tokens.globex.token, body: { timeZone: 'Europe/Berlin' } })).statusCode).toBe(404);
    expect((await h.call('PUT', `/api/locations/${berlin.id}/time-zone`, { token: acme(), body: { timeZone: 'Europe/Berlin' } })).json()).toMatchObject({ timeZone: 'Europe/Berlin' });

    const created = await h.call('POST', '/api/rules', { token: acme(), body });
    expect(created.statusCode).toBe(201);
    const rule = created.json();
    expect(rule).toMatchObject({ organizationId: 'acme', enabled: false, planned: 0, createdBy: `token:${h.tokens.acme.id}` });
    const preview = (await h.call('GET', `/api/rules/${rule.id}/preview`, { token: acme() })).json().data;
    expect(preview).toEqual([expect.objectContaining({ firstName: 'First1', timeZone: 'Europe/Berlin', at: ruleMoment({ daysBefore: 3, localTime: '09:00' }, start, 'Europe/Berlin').toISOString() })]);
    expect((await h.call('POST', `/api/rules/${rule.id}/enable`, { token: acme() })).json()).toMatchObject({ enabled: true, planned: 1 });
    expect((await h.call('POST', `/api/rules/${rule.id}/disable`, { token: acme() })).json()).toMatchObject({ enabled: false, planned: 0 });
    const audit = (await h.call('GET', `/api/rules/${rule.id}/audit`, { token: acme() })).json().data;
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['created', 'enabled', 'disabled']);
    expect((await h.call('GET', '/api/rules', { token: acme() })).json().data).toHaveLength(1);
    // another organization sees nothing of it
    expect((await h.call('GET', `/api/rules/${rule.id}`, { token: h.tokens.globex.token })).statusCode).toBe(404);
    expect((await h.call('GET', '/api/rules', { token: h.tokens.globex.token })).json().data).toHaveLength(0);
    expect((await h.call('POST', '/api/rules', { token: acme(), body })).statusCode).toBe(409); // the same name
  });

  it('bad input is a 400 and creates nothing', async () => {
    for (const bad of [{ ...body, name: 'x1', localTime: '25:00' }, { ...body, name: 'x2', daysBefore: -1 }, { ...body, name: 'x3', filter: { access: 'none' } }, { ...body, name: 'x4', loginMethod: 'fax' }, { name: 'x5' }]) {
      expect((await h.call('POST', '/api/rules', { token: acme(), body: bad })).statusCode).toBe(400);
    }
    expect((await h.call('PATCH', '/api/rules/not-a-uuid', { token: acme(), body: { enabled: true } })).statusCode).toBe(404);
    expect((await h.call('GET', '/api/rules', { token: acme() })).json().data).toHaveLength(1);
  });
});

describe('dashboard rules page', () => {
  it('adds a rule switched off, shows its preview, switches it on and off', async () => {
    const browser = new DashboardClient(h.app);
    expect((await browser.signIn(acme())).statusCode).toBe(303);
    const list = await browser.get('/dashboard/orgs/acme/rules');
    expect(list.statusCode).toBe(200);
    expect(list.body).toContain('Berlin joiners');
    const csrf = csrfOf(list.body);
    const post = (url: string, fields: Array<[string, string]>) => browser.post(url, Object.fromEntries([['_csrf', csrf], ...fields]));
    const cookie = browser.cookieHeader();

    const bad = await post('/dashboard/orgs/acme/rules', [['name', 'Bad'], ['daysBefore', 'x'], ['localTime', '09:00']]);
    expect(bad.headers.location).toContain('error=rule_invalid');
    const created = await post('/dashboard/orgs/acme/rules', [['name', 'Sales <joiners>'], ['group', 'Sales'], ['daysBefore', '5'], ['localTime', '10:15'], ['loginMethod', 'magic_link']]);
    expect(created.statusCode).toBe(303);
    const shown = await h.app.inject({ method: 'GET', url: String(created.headers.location), headers: { cookie } });
    expect(shown.body).toContain('Sales &lt;joiners&gt;');
    expect(shown.body).toMatch(/Preview: Sales &lt;joiners&gt;[\s\S]*First1[\s\S]*First3/); // the two Sales joiners; 2 started long ago
    expect(shown.body).not.toMatch(/Preview:[\s\S]*First2/);
    const id = /\?preview=([0-9a-f-]{36})/.exec(String(created.headers.location))![1]!;
    expect((await post(`/dashboard/orgs/acme/rules/${id}/enable`, [])).headers.location).toContain('notice=rule_enabled');
    expect((await h.svc.ctx.rules().get(id))).toMatchObject({ enabled: true, planned: 2, createdBy: expect.stringMatching(/token/) });
    expect((await post(`/dashboard/orgs/acme/rules/${id}/disable`, [])).headers.location).toContain('notice=rule_disabled');
    expect((await h.svc.ctx.rules().get(id))).toMatchObject({ enabled: false, planned: 0 });
    // a location's time zone from the dashboard
    const paris = (await h.svc.store.query<{ id: string }>(`select id from locations where organization_id = 'acme' and name = 'Paris'`))[0]!.id;
    expect((await post(`/dashboard/orgs/acme/locations/${paris}/time-zone`, [['timeZone', 'Nowhere/Else']])).headers.location).toContain('error=time_zone_invalid');
    expect((await post(`/dashboard/orgs/acme/locations/${paris}/time-zone`, [['timeZone', 'Europe/Paris']])).headers.location).toContain('notice=time_zone_saved');
    expect((await h.svc.store.query<{ time_zone: string }>(`select time_zone from locations where id = $1`, [paris]))[0]!.time_zone).toBe('Europe/Paris');
    expect((await h.app.inject({ method: 'GET', url: '/dashboard/orgs/acme/rules', headers: { cookie } })).body).toContain('value="Europe/Paris"');
    // another organization's rule is not found from here
    const other = await h.svc.ctx.rules().create('globex', { name: 'G', daysBefore: 1, localTime: '09:00', loginMethod: 'sso' }, 'admin');
    expect((await post(`/dashboard/orgs/acme/rules/${other.id}/enable`, [])).statusCode).toBe(404);
  });
});
