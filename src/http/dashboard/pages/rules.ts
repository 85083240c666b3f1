import type { FastifyInstance } from 'fastify';
import { ZodError } from 'zod';
import { isUuid } from '../../../domain/uuid.js';
import { LOGIN_METHODS } from '../../../domain/rollout-plan.js';
import { isAppError } from '../../../lib/errors.js';
import type { RuleInput, RuleRecord, RuleService } from '../../../rules/rule-service.js';
import { emptyState, notFound, seeOther, type Dashboard } from '../context.js';
import { asForm, field } from '../forms.js';
import { html } from '../html.js';
import { badge, csrfField, LOGIN_METHOD_LABELS, orgPath, pageHead, time, type Org } from '../layout.js';
import { sql, sqlOne } from '../../../db/sql.js';
import { isTimeZone } from '../../../domain/zoned-time.js';
import { formatCount } from '../time.js';

function who(r: RuleRecord): string {
  const parts = Object.entries(r.filter).map(([k, v]) => `${k} ${v}`);
  return parts.length ? parts.join(', ') : 'everyone with a start date';
}

/**
 * Invitation rules: the list (with a switch each), a form to add one (switched off: preview
 * it first), and the preview of a rule — who it will invite, when, in whose time zone.
 */
export function registerRulePages(app: FastifyInstance, dash: Dashboard): void {
  const rules = (): RuleService => {
    if (!dash.deps.rules) throw notFound();
    return dash.deps.rules;
  };

  app.get('/dashboard/orgs/:org/rules', async (request, reply) => {
    const org = dash.org(request, (request.params as { org: string }).org);
    const ctx = await dash.pageContext(request, org);
    const q = request.query as { preview?: string; error?: string };
    const list = await rules().list(org.id);
    const previewed = q.preview && isUuid(q.preview) ? list.find((r) => r.id === q.preview) : undefined;
    const preview = previewed ? await rules().preview(org.id, previewed) : null;
    const zones = await sql<{ id: string; name: string; time_zone: string | null; org_zone: string | null }>(
      dash.deps.em(),
      `select l.id, l.name, l.time_zone, o.time_zone as org_zone from locations l join organizations o on o.id = l.organization_id
        where l.organization_id = ? order by lower(l.name) limit 500`,
      [org.id],
    );
    const rows = list.map(
      (r) => html`<tr>
  <td><strong>${r.name}</strong><div class="small muted">${who(r)}</div></td>
  <td>${r.enabled ? badge('On', 'ok') : badge('Off', 'neutral')}</td>
  <td>${r.daysBefore} day${r.daysBefore === 1 ? '' : 's'} before the start date, ${r.localTime} local${r.rehires ? html`<div class="small muted">rehires count as joiners</div>` : ''}</td>
  <td class="hide-sm">${LOGIN_METHOD_LABELS[r.loginMethod] ?? r.loginMethod}</td>
  <td class="num">${formatCount(r.planned)}</td>
  <td><a class="btn" href="${orgPath(org, 'rules') + `?preview=${r.id}`}">Preview</a>
    <form method="post" action="${orgPath(org, 'rules', r.id, r.enabled ? 'disable' : 'enable')}" class="inline">${csrfField(ctx)}<button class="btn${r.enabled ? '' : ' btn-primary'}" type="submit">${r.enabled ? 'Switch off' : 'Switch on'}</button></form></td>
</tr>`,
    );
    const body = html`
${pageHead('Invitation rules', { sub: 'Standing decisions: a rule invites the joiners it names, at their local time before their start date. Nothing else invites.' })}
<section class="card">
${list.length
  ? html`<div class="table-wrap"><table>
  <thead><tr><th scope="col">Rule</th><th scope="col">State</th><th scope="col">When</th><th scope="col" class="hide-sm">Sign-in</th><th scope="col" class="num">Planned</th><th scope="col"></th></tr></thead>
  <tbody>${rows}</tbody></table></div>`
  : emptyState('No invitation rules yet.')}
</section>
${preview && previewed
  ? html`<section class="card" aria-labelledby="preview-head"><h2 id="preview-head">Preview: ${previewed.name}</h2>
  ${preview.length
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">When</th><th scope="col">Person</th><th scope="col">Location</th><th scope="col">Start date</th><th scope="col">Time zone</th></tr></thead>
    <tbody>${preview.map((p) => html`<tr><td>${time(p.at)}</td><td><a href="${orgPath(org, 'users', p.userId)}">${[p.firstName, p.lastName].filter(Boolean).join(' ') || p.userId}</a></td><td>${p.location ?? '—'}</td><td>${p.startDate}</td><td>${p.timeZone}</td></tr>`)}</tbody></table></div>`
    : emptyState('Nobody to invite: no joiner in this selection has a start date ahead.')}
</section>`
  : ''}
<section class="card" aria-labelledby="zones-head">
  <h2 id="zones-head">Time zones</h2>
  <p class="small muted">Rules and leavers' last days use the person's location's time zone, else the organization's (${zones[0]?.org_zone ?? 'UTC'}).</p>
  ${zones.length
    ? html`<div class="table-wrap"><table><thead><tr><th scope="col">Location</th><th scope="col">Time zone</th></tr></thead><tbody>${zones.map(
        (z) => html`<tr><td>${z.name}</td><td><form method="post" action="${orgPath(org, 'locations', z.id, 'time-zone')}" class="inline">${csrfField(ctx)}<input name="timeZone" value="${z.time_zone ?? ''}" placeholder="${z.org_zone ?? 'UTC'} (the organization's)" maxlength="64" aria-label="Time zone of ${z.name}"> <button class="btn" type="submit">Save</button></form></td></tr>`,
      )}</tbody></table></div>`
    : emptyState('No locations yet: they come with the first sync.')}
</section>
<section class="card" aria-labelledby="new-rule">
  <h2 id="new-rule">New rule</h2>
  <form method="post" action="${orgPath(org, 'rules')}">${csrfField(ctx)}
    <div class="field"><label for="name">Name</label><input id="name" name="name" required maxlength="200"></div>
    <div class="field"><label for="location">Location <span class="hint">(optional)</span></label><input id="location" name="location" maxlength="200"></div>
    <div class="field"><label for="group">Group <span class="hint">(optional)</span></label><input id="group" name="group" maxlength="200"></div>
    <div class="field"><label for="daysBefore">Days before the start date</label><input id="daysBefore" name="daysBefore" type="number" min="0" max="365" value="3" required></div>
    <div class="field"><label for="localTime">Local time of day</label><input id="localTime" name="localTime" type="time" value="09:00" required></div>
    <div class="field"><label for="loginMethod">Sign-in</label><select id="loginMethod" name="loginMethod">${LOGIN_METHODS.map((m) => html`<option value="${m}">${LOGIN_METHOD_LABELS[m]}</option>`)}</select></div>
    <div class="field"><label for="message">Personal message <span class="hint">(optional, plain text)</span></label><textarea id="message" name="message" maxlength="500"></textarea></div>
    <div class="field"><label class="choice"><input type="checkbox" name="rehires" value="1"> <span>Rehires count as joiners</span></label></div>
    <p class="small muted">A new rule starts switched off: preview it, then switch it on.</p>
    <button class="btn btn-primary" type="submit">Add rule</button>
  </form>
</section>`;
    return dash.render(request, reply, org, { title: 'Invitation rules', section: 'rules', body });
  });

  app.post('/dashboard/orgs/:org/rules', async (request, reply) => {
    const org = dash.org(request, (request.params as { org: string }).org);
    const form = asForm(request.body);
    const filter: Record<string, string> = {};
    for (const k of ['location', 'group'] as const) {
      const v = field(form, k);
      if (v) filter[k] = v;
    }
    const input: RuleInput = {
      name: field(form, 'name') ?? '',
      filter,
      daysBefore: Number(field(form, 'daysBefore') ?? NaN),
      localTime: field(form, 'localTime') ?? '',
      loginMethod: (field(form, 'loginMethod') ?? 'password') as RuleInput['loginMethod'],
      message: field(form, 'message') ?? null,
      rehires: field(form, 'rehires') === '1',
      enabled: false,
    };
    try {
      const rule = await rules().create(org.id, input, dash.createdBy(request));
      return seeOther(reply, orgPath(org, 'rules') + `?preview=${rule.id}`, { notice: 'rule_created' });
    } catch (err) {
      if (err instanceof ZodError) return seeOther(reply, orgPath(org, 'rules'), { error: 'rule_invalid' });
      if (isAppError(err) && err.code === 'conflict') return seeOther(reply, orgPath(org, 'rules'), { error: 'rule_name_taken' });
      throw err;
    }
  });

  // A location's time zone (empty: the organization's); the organization's plans follow it at once.
  app.post('/dashboard/orgs/:org/locations/:id/time-zone', async (request, reply) => {
    const params = request.params as { org: string; id: string };
    const org: Org = dash.org(request, params.org);
    if (!isUuid(params.id)) throw notFound();
    const tz = field(asForm(request.body), 'timeZone') ?? null;
    if (tz !== null && !isTimeZone(tz)) return seeOther(reply, orgPath(org, 'rules'), { error: 'time_zone_invalid' });
    const row = await sqlOne(dash.deps.em(), `update locations set time_zone = ? where id = ? and organization_id = ? returning id`, [tz, params.id, org.id]);
    if (!row) throw notFound();
    await rules().evaluateOrganization(org.id);
    return seeOther(reply, orgPath(org, 'rules'), { notice: 'time_zone_saved' });
  });

  for (const action of ['enable', 'disable'] as const) {
    app.post(`/dashboard/orgs/:org/rules/:id/${action}`, async (request, reply) => {
      const params = request.params as { org: string; id: string };
      const org: Org = dash.org(request, params.org);
      if (!isUuid(params.id)) throw notFound();
      try {
        await rules().setEnabled(params.id, action === 'enable', dash.createdBy(request), org.id);
      } catch (err) {
        if (isAppError(err) && err.code === 'not_found') throw notFound();
        throw err;
      }
      return seeOther(reply, orgPath(org, 'rules'), { notice: action === 'enable' ? 'rule_enabled' : 'rule_disabled' });
    });
  }
}


