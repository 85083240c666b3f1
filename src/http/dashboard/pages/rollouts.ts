import type { FastifyInstance } from 'fastify';
import { inTimestampRange } from '../../schemas.js';
import { nextStatus, type RolloutStatus, type SkipReason } from '../../../domain/rollout-plan.js';
import type { RolloutRecord } from '../../../invitations/rollout-service.js';
import { isAppError } from '../../../lib/errors.js';
import { emptyState, errorCodeKnown, notFound, seeOther, type Dashboard } from '../context.js';
import { html, path, raw, type SafeHtml } from '../html.js';
import { csrfField, LOGIN_METHOD_LABELS, orgPath, pageHead, reasonLabel, rolloutStatus, rolloutStatusInfo, shortId, time, toneClass, userName, type Org } from '../layout.js';
import { isUuid } from '../../../domain/uuid.js';
import { rolloutRecipients, rolloutSelection, rolloutSkippedUsers, type Recipient } from '../queries.js';
import { formatCount, formatUtc } from '../time.js';
import { previewedCount, previewedCounts } from '../invite-drafts.js';

const STATUSES: RolloutStatus[] = ['scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed'];
const TERMINAL = new Set<RolloutStatus>(['completed', 'cancelled', 'failed']);
const ACTIONS = ['pause', 'resume', 'cancel'] as const;

export interface RolloutProgress {
  status: RolloutStatus;
  statusLabel: string;
  badge: string;
  percent: number;
  /** the phase in words, with a time in UTC: `Scheduled for 2026-11-26 18:00:00 UTC` */
  phase: string;
  /** the same as words plus an instant the browser shows in local time */
  phasePrefix: string;
  phaseAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  terminal: boolean;
  counts: RolloutRecord['counts'];
  skippedByReason: RolloutRecord['skippedByReason'];
  skippedText: string;
  actions: Record<(typeof ACTIONS)[number], boolean>;
}

function skippedText(r: RolloutRecord): string {
  const parts = (Object.entries(r.skippedByReason) as Array<[SkipReason, number]>).filter(([, n]) => n > 0).map(([k, n]) => `${formatCount(n)} ${reasonLabel(k).toLowerCase()}`);
  return parts.length ? parts.join(' · ') : 'none';
}

/** The rollout's state as the page shows it and the poll sends it. */
export function progressOf(r: RolloutRecord): RolloutProgress {
  const c = r.counts;
  const done = c.sent + c.failed + c.cancelled;
  const terminal = TERMINAL.has(r.status);
  const percent = r.status === 'completed' ? 100 : c.targeted > 0 ? Math.min(100, Math.floor((done * 100) / c.targeted)) : 0;
  const info = rolloutStatusInfo(r.status);
  const [phasePrefix, phaseAt]: [string, string | null] =
    r.status === 'scheduled' ? ['Scheduled for', r.sendAt]
    : r.status === 'running' ? [`Sending: ${formatCount(done)} of ${formatCount(c.targeted)} done`, null]
    : r.status === 'paused' && r.error ? [`Paused by a mail fault after ${formatCount(done)} of ${formatCount(c.targeted)} (nobody failed): ${r.error}`, null]
    : r.status === 'paused' ? [r.startedAt ? `Paused after ${formatCount(done)} of ${formatCount(c.targeted)}` : 'Paused before it started', null]
    : r.status === 'completed' ? ['Completed', r.finishedAt]
    : r.status === 'cancelled' ? ['Cancelled', r.finishedAt]
    : [`Failed${r.error ? `: ${r.error}` : ''}`, null];
  const phase = phaseAt ? `${phasePrefix} ${formatUtc(phaseAt, { seconds: true })}` : phasePrefix;
  const started = r.startedAt !== null;
  return {
    status: r.status, statusLabel: info.label, badge: toneClass(info.tone), percent, phase, phasePrefix, phaseAt, startedAt: r.startedAt, finishedAt: r.finishedAt, terminal,
    counts: c, skippedByReason: r.skippedByReason, skippedText: skippedText(r),
    actions: { pause: nextStatus(r.status, 'pause', started) !== null, resume: nextStatus(r.status, 'resume', started) !== null, cancel: nextStatus(r.status, 'cancel', started) !== null },
  };
}

function selectionText(r: RolloutRecord): string {
  const f = r.selection.filter;
  if (f) {
    const parts = [f.location && `location ${f.location}`, f.group && `group ${f.group}`, f.connector && `connector ${f.connector}`, f.status && `status ${f.status}`, f.access && `access ${f.access}`].filter(Boolean);
    return `Filter: ${parts.length ? parts.join(' · ') : 'everyone'}`;
  }
  const n = r.selection.userCount ?? r.selection.userIds?.length ?? 0;
  return `${formatCount(n)} selected user${n === 1 ? '' : 's'}`;
}

function recipientTable(org: Org, caption: string, rows: Recipient[], opts: { when?: boolean } = {}): SafeHtml {
  return html`<div class="table-wrap"><table>
  <caption class="sr-only">${caption}</caption>
  <thead><tr><th scope="col">Name</th><th scope="col">Employee id</th><th scope="col">Reason</th>${opts.when ? html`<th scope="col">When</th>` : ''}</tr></thead>
  <tbody>${rows.map((r) => html`<tr><td><a href="${orgPath(org, 'users', r.userId)}">${userName(r)}</a></td><td><code>${r.externalId ?? '—'}</code></td><td>${reasonLabel(r.reason)}</td>${opts.when ? html`<td>${time(r.at)}</td>` : ''}</tr>`)}</tbody>
</table></div>`;
}

export function registerRolloutPages(app: FastifyInstance, dash: Dashboard): void {
  app.get('/dashboard/orgs/:org/rollouts', async (request, reply) => {
    const org = dash.org(request, (request.params as { org: string }).org);
    const q = request.query as Record<string, string | undefined>;
    const status = q.status && (STATUSES as string[]).includes(q.status) ? (q.status as RolloutStatus) : undefined;
    const before = q.before && inTimestampRange(q.before) ? new Date(q.before).toISOString() : undefined;
    const rows = await dash.deps.rollouts.list({ organizationId: org.id, status, limit: 51, before });
    const list = rows.slice(0, 50);
    const about = await previewedCounts(dash.deps.em(), list.filter((r) => r.status === 'scheduled' && r.counts.targeted === 0).map((r) => r.id));
    const body = html`
${pageHead('Rollouts', { sub: 'Deliberate invitations: each one is a rollout with a selection, a login method and a time.', actions: html`<a class="btn btn-primary" href="${orgPath(org, 'users')}">New rollout</a>` })}
<form method="get" class="card filters" role="search" aria-label="Filter rollouts">
  <div class="field"><label for="f-status">Status</label>
    <select id="f-status" name="status"><option value="">Any status</option>${STATUSES.map((s) => html`<option value="${s}"${s === status ? raw(' selected') : ''}>${rolloutStatusInfo(s).label}</option>`)}</select></div>
  <div class="actions"><button class="btn" type="submit">Apply</button><a class="btn" href="${orgPath(org, 'rollouts')}">Clear</a></div>
</form>
<div class="table-wrap">
<table>
  <caption class="sr-only">Rollouts, newest first</caption>
  <thead><tr><th scope="col">Rollout</th><th scope="col">Status</th><th scope="col">Sends</th><th scope="col">Who</th><th scope="col" class="hide-sm">Method</th><th scope="col">Progress</th><th scope="col" class="num">Sent</th><th scope="col" class="num">Skipped</th><th scope="col" class="num">Failed</th></tr></thead>
  <tbody>${list.map((r) => {
    const p = progressOf(r);
    return html`<tr data-rollout-id="${r.id}">
      <td><a href="${orgPath(org, 'rollouts', r.id)}"><code>${shortId(r.id)}</code></a><div class="small muted">created ${time(r.createdAt)}</div></td>
      <td>${rolloutStatus(r.status)}</td>
      <td class="nowrap">${time(r.sendAt)}</td>
      <td>${selectionText(r)}</td>
      <td class="hide-sm">${LOGIN_METHOD_LABELS[r.loginMethod] ?? r.loginMethod}</td>
      <td><progress max="100" value="${p.percent}" aria-label="Progress of rollout ${shortId(r.id)}">${p.percent}%</progress> <span class="small">${p.percent}%</span></td>
      <td class="num nowrap">${formatCount(r.counts.sent)} / ${about.has(r.id) ? `about ${formatCount(about.get(r.id))}` : formatCount(r.counts.targeted)}</td>
      <td class="num">${formatCount(r.counts.skipped)}</td>
      <td class="num">${formatCount(r.counts.failed)}</td>
    </tr>`;
  })}</tbody>
</table>
${list.length ? '' : emptyState(html`No rollouts yet. Select users on the <a href="${orgPath(org, 'users')}">Users</a> page and invite them.`)}
</div>
<nav class="pager" aria-label="Pages">
  <span>${before ? html`<a href="${path(['orgs', org.id, 'rollouts'], { status })}">← Newest</a>` : ''}</span>
  <span>${rows.length > 50 ? html`<a rel="next" href="${path(['orgs', org.id, 'rollouts'], { status, before: list[list.length - 1].createdAt })}">Older rollouts →</a>` : ''}</span>
</nav>`;
    return dash.render(request, reply, org, { title: 'Rollouts', section: 'rollouts', body });
  });

  app.get('/dashboard/orgs/:org/rollouts/:id', async (request, reply) => {
    const params = request.params as { org: string; id: string };
    const org = dash.org(request, params.org);
    if (!isUuid(params.id)) throw notFound();
    const r = await dash.deps.rollouts.get(params.id, org.id);
    if (!r) throw notFound();
    const em = dash.deps.em();
    const [ctx, failed, notSent, selection] = await Promise.all([
      dash.pageContext(request, org),
      rolloutRecipients(em, r.id, org.id, 'failed'),
      rolloutRecipients(dash.deps.em(), r.id, org.id, 'cancelled'),
      rolloutSelection(dash.deps.em(), r.id, org.id),
    ]);
    const skippedUsers = r.counts.skipped > 0 ? await rolloutSkippedUsers(dash.deps.em(), r, selection, 100) : [];
    // A filter rollout is resolved when it fires: until then, the count its preview showed ("about N").
    const about = r.status === 'scheduled' && r.counts.targeted === 0 ? await previewedCount(dash.deps.em(), r.id) : null;
    const p = progressOf(r);
    const stat = (label: string, key: keyof RolloutRecord['counts'], tone = '') => html`<div class="stat ${tone}"><div class="label">${label}</div><div class="value" data-field="${key}">${formatCount(r.counts[key])}</div></div>`;
    const actionLabels = { pause: 'Pause', resume: 'Resume', cancel: 'Cancel rollout' };
    const body = html`
${pageHead(html`Rollout <code>${shortId(r.id)}</code>`, {
  crumbs: [{ href: orgPath(org, 'rollouts'), label: 'Rollouts' }],
  sub: html`<span data-status class="badge ${p.badge}">${p.statusLabel}</span> · ${selectionText(r)} · ${LOGIN_METHOD_LABELS[r.loginMethod] ?? r.loginMethod}`,
  actions: ACTIONS.map((a) => html`<form method="post" action="${orgPath(org, 'rollouts', r.id, a)}" class="inline" data-action="${a}"${p.actions[a] ? '' : raw(' hidden')}${a === 'cancel' ? raw(' data-confirm="Cancel this rollout? Messages not yet sent will not be sent."') : ''}>${csrfField(ctx)}<button class="btn${a === 'cancel' ? ' btn-danger' : ''}" type="submit">${actionLabels[a]}</button></form>`),
})}
<section class="card" aria-labelledby="progress-h" data-progress-url="${orgPath(org, 'rollouts', r.id, 'progress')}" data-terminal="${p.terminal ? 'true' : 'false'}">
  <h2 id="progress-h">Progress</h2>
  <p aria-live="polite" data-phase>${p.phasePrefix}${p.phaseAt ? html` ${time(p.phaseAt, { seconds: true })}` : ''}</p>
  <div class="progress-wrap">
    <progress max="100" value="${p.percent}" data-progress-bar aria-labelledby="progress-h">${p.percent}%</progress>
    <span class="percent" data-field="percent">${p.percent}%</span>
  </div>
  <div class="stats">
    ${about !== null ? html`<div class="stat"><div class="label">Targeted</div><div class="value" data-field="targeted" data-about title="The preview's count; the filter is resolved when the rollout fires">about ${formatCount(about)}</div></div>` : stat('Targeted', 'targeted')}${stat('Sent', 'sent', 'stat-ok')}${stat('Pending', 'pending')}${stat('Skipped', 'skipped', 'stat-warn')}${stat('Failed', 'failed', 'stat-danger')}${stat('Not sent', 'cancelled')}${stat('Signed up', 'accepted', 'stat-ok')}
  </div>
  <p class="small muted spaced">Skipped: <span data-skipped-reasons>${p.skippedText}</span></p>
  <p class="notice notice-info" data-final-note hidden role="status">The rollout has ended. <a href="${orgPath(org, 'rollouts', r.id)}">Reload</a> to see every recipient's outcome.</p>
</section>
<section class="card" aria-labelledby="details-h">
  <h2 id="details-h">Details</h2>
  <dl class="props">
    <dt>Sends at</dt><dd>${time(r.sendAt, { seconds: true })}</dd>
    <dt>Login method</dt><dd>${LOGIN_METHOD_LABELS[r.loginMethod] ?? r.loginMethod}</dd>
    <dt>Message</dt><dd class="pre">${r.message ?? html`<span class="muted">none</span>`}</dd>
    <dt>Who</dt><dd>${selectionText(r)}${r.selection.filter ? html`<div class="small muted">resolved when it fired</div>` : ''}</dd>
    <dt>Re-send</dt><dd>${r.resend ? 'yes' : 'no'}</dd>
    ${r.ruleId ? html`<dt>Made by</dt><dd><a href="${orgPath(org, 'rules') + `?preview=${r.ruleId}`}">an invitation rule</a></dd>` : ''}
    ${r.counts.reminded > 0 ? html`<dt>Reminders sent</dt><dd>${formatCount(r.counts.reminded)}</dd>` : ''}
    <dt>Created</dt><dd>${time(r.createdAt, { seconds: true })}</dd>
    <dt>Started</dt><dd data-time-field="startedAt">${time(r.startedAt, { seconds: true })}</dd>
    <dt>Finished</dt><dd data-time-field="finishedAt">${time(r.finishedAt, { seconds: true })}</dd>
    ${r.error ? html`<dt>Error</dt><dd>${r.error}</dd>` : ''}
    <dt>Rollout id</dt><dd><code>${r.id}</code></dd>
  </dl>
</section>
${r.counts.failed > 0 ? html`<section class="card" aria-labelledby="failed-h">
  <h2 id="failed-h">Failed <span class="muted">(${formatCount(failed.total)})</span></h2>
  ${recipientTable(org, 'Recipients whose invitation failed, with reasons', failed.rows, { when: true })}
  ${failed.total > failed.rows.length ? html`<p class="small muted">Showing the latest ${formatCount(failed.rows.length)}.</p>` : ''}
</section>` : ''}
${r.counts.skipped > 0 ? html`<section class="card" aria-labelledby="skipped-h">
  <h2 id="skipped-h">Skipped <span class="muted">(${formatCount(r.counts.skipped)})</span></h2>
  <p class="small muted">${p.skippedText}. ${skippedUsers.length ? 'The users below, with the reason as of now:' : ''}</p>
  ${skippedUsers.length ? recipientTable(org, 'Users the rollout skipped, with reasons', skippedUsers) : ''}
</section>` : ''}
${notSent.total > 0 ? html`<section class="card" aria-labelledby="notsent-h">
  <h2 id="notsent-h">Not sent <span class="muted">(${formatCount(notSent.total)})</span></h2>
  ${recipientTable(org, 'Invitations withdrawn before they were sent, with reasons', notSent.rows, { when: true })}
</section>` : ''}`;
    return dash.render(request, reply, org, { title: `Rollout ${shortId(r.id)}`, section: 'rollouts', body });
  });

  // The page polls this every second while the rollout runs.
  app.get('/dashboard/orgs/:org/rollouts/:id/progress', { config: { dashboardJson: true } }, async (request, reply) => {
    const params = request.params as { org: string; id: string };
    const org = dash.org(request, params.org);
    const r = isUuid(params.id) ? await dash.deps.rollouts.get(params.id, org.id) : null;
    if (!r) throw notFound();
    return reply.header('cache-control', 'no-store').send(progressOf(r));
  });

  for (const action of ACTIONS) {
    app.post(`/dashboard/orgs/:org/rollouts/:id/${action}`, async (request, reply) => {
      const params = request.params as { org: string; id: string };
      const org = dash.org(request, params.org);
      if (!isUuid(params.id)) throw notFound();
      try {
        await dash.deps.rollouts[action](params.id, org.id);
        return seeOther(reply, orgPath(org, 'rollouts', params.id), { notice: action === 'pause' ? 'rollout_paused' : action === 'resume' ? 'rollout_resumed' : 'rollout_cancelled' });
      } catch (err) {
        if (isAppError(err) && err.code === 'rollout_not_found') throw notFound();
        if (isAppError(err) && errorCodeKnown(err.code)) return seeOther(reply, orgPath(org, 'rollouts', params.id), { error: err.code });
        throw err;
      }
    });
  }
}
