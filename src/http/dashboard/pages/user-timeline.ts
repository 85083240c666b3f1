import type { UserEvent } from '../../../history/user-history.js';
import { emptyState } from '../context.js';
import { html, type HtmlValue } from '../html.js';
import { badge, orgPath, shortId, time, type Org } from '../layout.js';

const KIND_LABELS: Record<string, string> = {
  created: 'Created',
  updated: 'Fields changed',
  linked: 'Linked to HR',
  deactivated: 'Deactivated',
  reactivated: 'Reactivated',
  invited: 'Invited',
  invitation_resent: 'Invitation re-sent',
  invitation_accepted: 'Invitation accepted',
  invitation_expired: 'Invitation expired',
  invitation_revoked: 'Invitation revoked',
  invitation_failed: 'Invitation failed',
};

function actor(org: Org, e: UserEvent): HtmlValue {
  const id = e.actor.id;
  if (e.actor.type === 'run' && id) return html`run <a href="${orgPath(org, 'runs', id)}"><code>${shortId(id)}</code></a>`;
  if (e.actor.type === 'rollout' && id) return html`rollout <a href="${orgPath(org, 'rollouts', id)}"><code>${shortId(id)}</code></a>`;
  if (e.actor.type === 'user') return html`the person`;
  return html`${e.actor.type}${id ? html` <code>${shortId(id)}</code>` : ''}`;
}

function detail(e: UserEvent): HtmlValue {
  const changes = e.data.changes as Record<string, [unknown, unknown]> | undefined;
  const parts: HtmlValue[] = [];
  if (changes) for (const [k, [a, b]] of Object.entries(changes)) parts.push(html`<div class="small"><code>${k}</code>: ${show(a)} → ${show(b)}</div>`);
  if (typeof e.data.by === 'string') parts.push(html`<div class="small muted">by ${e.data.by}${typeof e.data.approvedBy === 'string' ? `, approved by ${e.data.approvedBy}` : ''}</div>`);
  if (typeof e.data.reason === 'string') parts.push(html`<div class="small muted">${e.data.reason}</div>`);
  return parts;
}

function show(v: unknown): string {
  if (v === null || v === undefined) return '—';
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 79)}…` : s;
}

/** A person's history, newest first: what happened, when, and who or what did it. */
export function timeline(org: Org, events: UserEvent[], more: boolean): HtmlValue {
  return html`<section class="card" aria-labelledby="h-h">
  <h2 id="h-h">History</h2>
  ${events.length ? html`<div class="table-wrap"><table>
    <caption class="sr-only">Changes to this user, newest first</caption>
    <thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">By</th></tr></thead>
    <tbody>${events.map((e) => html`<tr><td>${time(e.at)}</td><td>${badge(KIND_LABELS[e.kind] ?? e.kind)}${detail(e)}</td><td>${actor(org, e)}</td></tr>`)}</tbody>
  </table></div>${more ? html`<p class="small muted">Older entries: GET /api/users/:id/history.</p>` : ''}` : emptyState('No recorded changes yet.')}
</section>`;
}
