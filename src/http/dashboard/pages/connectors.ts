import type { FastifyInstance } from 'fastify';
import { isAppError } from '../../../lib/errors.js';
import { emptyState, errorCodeKnown, notFound, seeOther, type Dashboard } from '../context.js';
import { asForm, field } from '../forms.js';
import { html, path } from '../html.js';
import { csrfField, orgPath, pageHead, runStatus, shortId, time } from '../layout.js';
import { connectorStates } from '../queries.js';
import { webhookStats } from '../../../webhooks/webhook-stats.js';
import { formatCount, formatRelative, nextRun } from '../time.js';

const TRIGGER_LABELS: Record<string, string> = { manual: 'manual', schedule: 'scheduled', api: 'from the dashboard or API', webhook: 'from a webhook', scim: 'from SCIM' };
const TYPE_LABELS: Record<string, string> = { bamboohr: 'BambooHR', personio: 'Personio', hibob: 'HiBob', file: 'File export', scim: 'SCIM 2.0' };

export function registerConnectorPages(app: FastifyInstance, dash: Dashboard): void {
  app.get('/dashboard/orgs/:org/connectors', async (request, reply) => {
    const org = dash.org(request, (request.params as { org: string }).org);
    const ctx = await dash.pageContext(request, org);
    const config = dash.deps.config.organizations.find((o) => o.id === org.id)!;
    const states = await connectorStates(dash.deps.em(), org.id);
    const hooks = await webhookStats(dash.deps.em(), config.connectors.map((c) => c.id));
    const now = new Date();
    const cards = config.connectors.map((c) => {
      const st = states.get(c.id) ?? { lastSyncAt: null, lastRun: null, held: null, active: null };
      const next = nextRun(c.schedule, c.timezone);
      const counts = st.lastRun?.counts ?? {};
      return html`
<section class="card" aria-labelledby="c-${c.id}">
  <div class="card-head">
    <h2 id="c-${c.id}">${c.id}</h2>
    <span class="badge badge-info">${TYPE_LABELS[c.type] ?? c.type}</span>
  </div>
  ${st.held ? html`<div class="notice notice-warn" role="status">Held: <a href="${orgPath(org, 'runs', st.held.id)}">run ${shortId(st.held.id)}</a> waits for approval of ${formatCount(st.held.count)} deactivation${st.held.count === 1 ? '' : 's'}. This connector does not sync until it is decided.</div>` : ''}
  ${st.active ? html`<div class="notice notice-info" role="status">${st.active.dryRun ? 'A dry run' : 'A sync'} is ${st.active.status === 'queued' ? 'queued' : 'running'}: <a href="${orgPath(org, 'runs', st.active.id)}">run ${shortId(st.active.id)}</a>.</div>` : ''}
  <dl class="props">
    <dt>Schedule</dt>
    <dd>${c.schedule ? html`<code>${c.schedule}</code> <span class="muted">(${c.timezone ?? 'server time'})</span>` : html`<span class="muted">Manual only</span>`}</dd>
    <dt>Next run</dt>
    <dd data-next-run>${next ? html`${time(next)} <span class="muted">· ${formatRelative(next, now)}</span>` : html`<span class="muted">—</span>`}</dd>
    <dt>Last run</dt>
    <dd>${st.lastRun
      ? html`${runStatus(st.lastRun.status)} <a href="${orgPath(org, 'runs', st.lastRun.id)}">${time(st.lastRun.startedAt)}</a> <span class="muted">· ${TRIGGER_LABELS[st.lastRun.trigger] ?? st.lastRun.trigger}</span>
          <div class="small muted">${formatCount(counts.seen)} seen · ${formatCount(counts.created)} created · ${formatCount(counts.updated)} updated · ${formatCount(counts.deactivated)} deactivated · ${formatCount(counts.rejected)} rejected</div>`
      : html`<span class="muted">Never synced</span>`}</dd>
    <dt>Last success</dt>
    <dd>${time(st.lastSyncAt)}</dd>
    ${c.webhook ? html`<dt>Webhooks</dt><dd>${(() => { const w = hooks.get(c.id); return w ? html`last event ${time(w.lastEventAt)} · ${formatCount(w.accepted)} accepted · ${formatCount(w.rejected)} rejected signature${w.rejected === 1 ? '' : 's'}` : html`<span class="muted">none received yet</span>`; })()}</dd>` : ''}
  </dl>
  <div class="actions">
    <form method="post" action="${orgPath(org, 'connectors', c.id, 'sync')}" class="inline">${csrfField(ctx)}<button class="btn btn-primary" type="submit">Sync now</button></form>
    <form method="post" action="${orgPath(org, 'connectors', c.id, 'sync')}" class="inline">${csrfField(ctx)}<input type="hidden" name="dryRun" value="1"><button class="btn" type="submit">Dry run</button></form>
    <a class="btn" href="${orgPath(org, 'runs') + `?connectorId=${encodeURIComponent(c.id)}`}">Runs</a>
  </div>
</section>`;
    });
    const body = html`
${pageHead('Connectors', { sub: 'HR systems this organization syncs from. A sync creates and updates users; it never invites anyone.' })}
${config.connectors.length ? html`<div class="grid grid-wide">${cards}</div>` : html`<div class="card">${emptyState('No connectors are configured for this organization.')}</div>`}`;
    return dash.render(request, reply, org, { title: 'Connectors', section: 'connectors', body });
  });

  // Through the sync queue, like the API and the scheduler: one run per connector at a time.
  app.post('/dashboard/orgs/:org/connectors/:id/sync', async (request, reply) => {
    const params = request.params as { org: string; id: string };
    const org = dash.org(request, params.org);
    const connector = dash.deps.config.organizations.find((o) => o.id === org.id)?.connectors.find((c) => c.id === params.id);
    if (!connector) throw notFound();
    const dryRun = field(asForm(request.body), 'dryRun') === '1';
    try {
      const { runId } = await dash.deps.enqueueSync({ connectorId: connector.id, trigger: 'api', dryRun });
      return seeOther(reply, orgPath(org, 'runs', runId), { notice: dryRun ? 'dry_run_queued' : 'sync_queued' });
    } catch (err) {
      if (isAppError(err) && errorCodeKnown(err.code)) return seeOther(reply, orgPath(org, 'connectors'), { error: err.code });
      throw err;
    }
  });
}

export { path };
