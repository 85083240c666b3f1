import type { FastifyInstance } from 'fastify';
import { isAppError } from '../../../lib/errors.js';
import { loadRunRecord } from '../../../sync/run-record.js';
import { emptyState, errorCodeKnown, notFound, seeOther, type Dashboard } from '../context.js';
import { html, path, raw } from '../html.js';
import { badge, csrfField, orgPath, pageHead, reasonLabel, runStatus, shortId, time, userName, userStatus } from '../layout.js';
import { SYNC_RUN_STATUSES } from '../../../db/sync-run-types.js';
import { isUuid } from '../../../domain/uuid.js';
import { listRuns, runDeactivations } from '../queries.js';
import { formatCount, formatDuration } from '../time.js';

const RUN_STATUSES: readonly string[] = SYNC_RUN_STATUSES;
const STATUS_LABELS: Record<string, string> = { queued: 'Queued', running: 'Running', succeeded: 'Succeeded', failed: 'Failed', needs_approval: 'Needs approval', approved: 'Approved', rejected: 'Rejected', skipped: 'Skipped' };
const TRIGGERS: Record<string, string> = { manual: 'Manual', schedule: 'Schedule', api: 'Dashboard / API' };

/** A message as a sentence: capitalized, with a full stop. */
const sentence = (t: string) => { const s = t.trim(); return (s.charAt(0).toUpperCase() + s.slice(1)).replace(/([^.!?])$/, '$1.'); };

const duration = (a: string | null, b: string | null) => (a && b ? formatDuration(new Date(b).getTime() - new Date(a).getTime()) : '—');

export function registerRunPages(app: FastifyInstance, dash: Dashboard): void {
  app.get('/dashboard/orgs/:org/runs', async (request, reply) => {
    const org = dash.org(request, (request.params as { org: string }).org);
    const q = request.query as Record<string, string | undefined>;
    const connectors = dash.deps.config.organizations.find((o) => o.id === org.id)?.connectors.map((c) => c.id) ?? [];
    const connectorId = q.connectorId && connectors.includes(q.connectorId) ? q.connectorId : undefined;
    const status = q.status && RUN_STATUSES.includes(q.status) ? q.status : undefined;
    const { runs, nextCursor } = await listRuns(dash.deps.em(), org.id, { connectorId, status, cursor: q.cursor, limit: 50 });
    const body = html`
${pageHead('Sync runs', { sub: 'Every run leaves a record: trigger, timings, counts and each rejected record with its reason.' })}
<form method="get" class="card filters" role="search" aria-label="Filter runs">
  <div class="field"><label for="f-connector">Connector</label>
    <select id="f-connector" name="connectorId"><option value="">All connectors</option>${connectors.map((c) => html`<option value="${c}"${c === connectorId ? raw(' selected') : ''}>${c}</option>`)}</select></div>
  <div class="field"><label for="f-status">Status</label>
    <select id="f-status" name="status"><option value="">Any status</option>${RUN_STATUSES.map((s) => html`<option value="${s}"${s === status ? raw(' selected') : ''}>${STATUS_LABELS[s]}</option>`)}</select></div>
  <div class="actions"><button class="btn" type="submit">Apply</button><a class="btn" href="${orgPath(org, 'runs')}">Clear</a></div>
</form>
<div class="table-wrap">
<table>
  <caption class="sr-only">Sync runs, newest first</caption>
  <thead><tr><th scope="col">Run</th><th scope="col">Connector</th><th scope="col">Status</th><th scope="col">Started</th><th scope="col" class="num">Duration</th><th scope="col" class="num">Seen</th><th scope="col" class="num">Created</th><th scope="col" class="num">Updated</th><th scope="col" class="num">Deactivated</th><th scope="col" class="num">Rejected</th></tr></thead>
  <tbody>
  ${runs.map((r) => html`<tr data-run-id="${r.id}">
    <td><a href="${orgPath(org, 'runs', r.id)}"><code>${shortId(r.id)}</code></a>${r.dryRun ? html` ${badge('Dry run', 'info')}` : ''}</td>
    <td>${r.connectorId}</td>
    <td>${runStatus(r.status)}</td>
    <td class="nowrap">${time(r.startedAt)}<div class="small muted">${TRIGGERS[r.trigger] ?? r.trigger}</div></td>
    <td class="num">${duration(r.startedAt, r.finishedAt)}</td>
    <td class="num">${formatCount(r.counts.seen)}</td>
    <td class="num">${formatCount(r.counts.created)}</td>
    <td class="num">${formatCount(r.counts.updated)}</td>
    <td class="num">${formatCount(r.counts.deactivated)}${r.counts.heldDeactivations ? html` <span class="badge badge-warn">${formatCount(r.counts.heldDeactivations)} held</span>` : ''}</td>
    <td class="num">${formatCount(r.counts.rejected)}</td>
  </tr>`)}
  </tbody>
</table>
${runs.length ? '' : emptyState('No runs yet.')}
</div>
<nav class="pager" aria-label="Pages">
  <span>${q.cursor ? html`<a href="${path(['orgs', org.id, 'runs'], { connectorId, status })}">← Newest</a>` : ''}</span>
  <span>${nextCursor ? html`<a rel="next" href="${path(['orgs', org.id, 'runs'], { connectorId, status, cursor: nextCursor })}">Older runs →</a>` : ''}</span>
</nav>`;
    return dash.render(request, reply, org, { title: 'Sync runs', section: 'runs', body });
  });

  app.get('/dashboard/orgs/:org/runs/:id', async (request, reply) => {
    const params = request.params as { org: string; id: string };
    const org = dash.org(request, params.org);
    if (!isUuid(params.id)) throw notFound();
    const em = dash.deps.em();
    const run = await loadRunRecord(em, params.id, { organizationId: org.id, rejectedLimit: 500 });
    if (!run) throw notFound();
    const ctx = await dash.pageContext(request, org);
    const deact = await runDeactivations(em, run.id, org.id, 500);
    const held = run.status === 'needs_approval';
    const inFlight = run.status === 'queued' || run.status === 'running';
    const c = run.counts;
    const stat = (label: string, value: number | undefined, tone = '') => html`<div class="stat ${tone}"><div class="label">${label}</div><div class="value">${formatCount(value)}</div></div>`;
    const body = html`
${pageHead(html`Run <code>${shortId(run.id)}</code>`, {
  crumbs: [{ href: orgPath(org, 'runs'), label: 'Sync runs' }],
  sub: html`${runStatus(run.status)} ${run.dryRun ? badge('Dry run: nothing written', 'info') : ''} · connector <a href="${orgPath(org, 'connectors')}">${run.connectorId}</a> · ${run.mode} listing · ${TRIGGERS[run.trigger] ?? run.trigger}`,
})}
${inFlight ? html`<div class="notice notice-info" role="status" data-auto-refresh="2000">This run is ${run.status}. The page refreshes until it ends.</div>` : ''}
${run.error ? html`<div class="notice notice-error" role="alert"><strong>Error:</strong> ${run.error}</div>` : ''}
${held ? html`<div class="notice notice-warn" role="status">${sentence(run.heldReason ?? 'This run would deactivate more users than the threshold allows')} Nobody has been deactivated. Approve to apply the ${formatCount(c.heldDeactivations)} deactivations listed below, or reject to dismiss them.</div>` : ''}
<section class="card" aria-labelledby="counts-h">
  <h2 id="counts-h">Counts</h2>
  <div class="stats">
    ${stat('Seen', c.seen)}${stat('Created', c.created, 'stat-ok')}${stat('Updated', c.updated)}${stat('Unchanged', c.unchanged)}
    ${stat('Deactivated', c.deactivated, c.deactivated ? 'stat-danger' : '')}${stat('Reactivated', c.reactivated)}${stat('Rejected', c.rejected, c.rejected ? 'stat-warn' : '')}
    ${stat('Held', c.heldDeactivations, c.heldDeactivations ? 'stat-warn' : '')}
    ${c.confirmedPresent ? stat('Confirmed present', c.confirmedPresent, 'stat-ok') : ''}
  </div>
  ${c.confirmedPresent ? html`<p class="small muted">${formatCount(c.confirmedPresent)} ${c.confirmedPresent === 1 ? 'person was' : 'people were'} absent from the listing but found at the HR system when looked up by id: not deactivated.</p>` : ''}
  <dl class="props props-spaced">
    <dt>Started</dt><dd>${time(run.startedAt, { seconds: true })}</dd>
    <dt>Finished</dt><dd>${time(run.finishedAt, { seconds: true })}</dd>
    <dt>Duration</dt><dd>${duration(run.startedAt, run.finishedAt)}</dd>
    ${run.approvedAt ? html`<dt>Decided</dt><dd>${time(run.approvedAt, { seconds: true })}</dd>` : ''}
    <dt>Run id</dt><dd><code>${run.id}</code></dd>
  </dl>
</section>
${deact.total > 0 ? html`
<section class="card" aria-labelledby="deact-h">
  <div class="card-head">
    <h2 id="deact-h">${held ? 'Held deactivations' : 'Deactivations'} <span class="muted">(${formatCount(deact.total)})</span></h2>
    ${held ? html`<div class="actions">
      <form method="post" action="${orgPath(org, 'runs', run.id, 'approve')}" class="inline">${csrfField(ctx)}<button class="btn btn-primary" type="submit">Approve ${formatCount(deact.total)} deactivation${deact.total === 1 ? '' : 's'}</button></form>
      <form method="post" action="${orgPath(org, 'runs', run.id, 'reject')}" class="inline" data-confirm="Reject this run? Nobody will be deactivated, and the connector syncs again.">${csrfField(ctx)}<button class="btn btn-danger" type="submit">Reject</button></form>
    </div>` : ''}
  </div>
  <div class="table-wrap"><table>
    <caption class="sr-only">Users this run ${held ? 'would deactivate' : 'deactivated'}</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Employee id</th><th scope="col" class="hide-sm">E-mail</th><th scope="col">Why</th><th scope="col">Now</th></tr></thead>
    <tbody>${deact.rows.map((d) => html`<tr>
      <td><a href="${orgPath(org, 'users', d.userId)}">${userName(d)}</a></td>
      <td><code>${d.externalId ?? '—'}</code></td>
      <td class="hide-sm">${d.email ?? '—'}</td>
      <td>${reasonLabel(d.reason)}</td>
      <td>${userStatus(d.status)}${d.appliedAt ? html` <span class="small muted">applied ${time(d.appliedAt)}</span>` : ''}</td>
    </tr>`)}</tbody>
  </table></div>
  ${deact.total > deact.rows.length ? html`<p class="small muted">Showing ${formatCount(deact.rows.length)} of ${formatCount(deact.total)}.</p>` : ''}
</section>` : ''}
<section class="card" aria-labelledby="rej-h">
  <h2 id="rej-h">Rejected records <span class="muted">(${formatCount(c.rejected)})</span></h2>
  ${run.rejected.length ? html`<div class="table-wrap"><table>
    <caption class="sr-only">HR records this run rejected, with reasons</caption>
    <thead><tr><th scope="col">Employee id</th><th scope="col">Reason</th><th scope="col">Detail</th></tr></thead>
    <tbody>${run.rejected.map((r) => html`<tr><td><code>${r.externalId ?? '—'}</code></td><td>${badge(reasonLabel(r.reason), 'warn')}</td><td>${r.detail ?? ''}</td></tr>`)}</tbody>
  </table></div>
  ${run.rejectedTruncated ? html`<p class="small muted">Showing the first ${formatCount(run.rejected.length)}.</p>` : ''}` : emptyState('No record was rejected.')}
</section>`;
    return dash.render(request, reply, org, { title: `Run ${shortId(run.id)}`, section: 'runs', body });
  });

  for (const action of ['approve', 'reject'] as const) {
    app.post(`/dashboard/orgs/:org/runs/:id/${action}`, async (request, reply) => {
      const params = request.params as { org: string; id: string };
      const org = dash.org(request, params.org);
      if (!isUuid(params.id)) throw notFound();
      // The run must be this organization's before the engine (which is not scoped) touches it.
      const run = await loadRunRecord(dash.deps.em(), params.id, { organizationId: org.id, rejectedLimit: 0 });
      if (!run) throw notFound();
      try {
        if (action === 'approve') await dash.deps.sync.approve(run.id, dash.createdBy(request));
        else await dash.deps.sync.reject(run.id, dash.createdBy(request));
        return seeOther(reply, orgPath(org, 'runs', run.id), { notice: action === 'approve' ? 'run_approved' : 'run_rejected' });
      } catch (err) {
        if (isAppError(err) && errorCodeKnown(err.code)) return seeOther(reply, orgPath(org, 'runs', run.id), { error: err.code });
        throw err;
      }
    });
  }
}
