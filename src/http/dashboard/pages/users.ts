import type { FastifyInstance } from 'fastify';
import { getUser, listUsers, USER_SORTS, type ListUsersQuery, type UserSort } from '../../../users/user-service.js';
import { userHistory } from '../../../history/user-history.js';
import { employeeOfUser, syncEmployeesNow } from '../../../sync/on-demand.js';
import { timeline } from './user-timeline.js';
import { isAppError } from '../../../lib/errors.js';
import { emptyState, errorCodeKnown, notFound, seeOther, type Dashboard } from '../context.js';
import { html, path, raw, type SafeHtml } from '../html.js';
import { accessState, csrfField, LOGIN_METHOD_LABELS, orgPath, pageHead, reasonLabel, shortId, time, userName, userStatus, badge, type Org } from '../layout.js';
import { isUuid } from '../../../domain/uuid.js';
import { countUsers, cursorIsValid, namedOptions, previousCursor, userInvitations, userManager } from '../queries.js';
import { formatCount } from '../time.js';

export const PAGE_SIZES = [25, 50, 100, 200];

/** The users list's filters, from a query string or from the hidden fields the selection form carries (prefix `f_`). */
export interface UserFilters {
  q?: string;
  locationId?: string;
  groupId?: string;
  status?: 'active' | 'deactivated';
  access?: 'none' | 'invited' | 'active';
  connectorId?: string;
}

export function readFilters(src: Record<string, string | undefined>, connectorIds: readonly string[], prefix = ''): UserFilters {
  const get = (k: string) => {
    const v = src[prefix + k];
    return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
  };
  const f: UserFilters = {};
  const q = get('q');
  if (q) f.q = q.slice(0, 200);
  const loc = get('locationId');
  if (isUuid(loc)) f.locationId = loc;
  const grp = get('groupId');
  if (isUuid(grp)) f.groupId = grp;
  const status = get('status');
  if (status === 'active' || status === 'deactivated') f.status = status;
  const access = get('access');
  if (access === 'none' || access === 'invited' || access === 'active') f.access = access;
  const conn = get('connectorId');
  if (conn && connectorIds.includes(conn)) f.connectorId = conn;
  return f;
}

export function hasFilters(f: UserFilters): boolean {
  return Object.values(f).some((v) => v !== undefined);
}

export function filterHiddenFields(f: UserFilters): SafeHtml {
  return html`${(Object.entries(f) as Array<[string, string | undefined]>).map(([k, v]) => (v ? html`<input type="hidden" name="f_${k}" value="${v}">` : ''))}`;
}

/** "Location Berlin · Status active" in words. */
export async function describeFilters(dash: Dashboard, org: Org, f: UserFilters): Promise<string> {
  const parts: string[] = [];
  const em = dash.deps.em();
  if (f.q) parts.push(`search “${f.q}”`);
  if (f.locationId) parts.push(`location ${(await namedOptions(em, 'locations', org.id)).find((l) => l.id === f.locationId)?.name ?? '(unknown)'}`);
  if (f.groupId) parts.push(`group ${(await namedOptions(em, 'groups', org.id)).find((g) => g.id === f.groupId)?.name ?? '(unknown)'}`);
  if (f.status) parts.push(`status ${f.status}`);
  if (f.access) parts.push(`access ${f.access === 'none' ? 'none' : f.access === 'invited' ? 'invited' : 'signed up'}`);
  if (f.connectorId) parts.push(`connector ${f.connectorId}`);
  return parts.length ? parts.join(' · ') : 'everyone in the organization';
}

const opt = (value: string, label: string, selected: string | undefined) => html`<option value="${value}"${value === selected ? raw(' selected') : ''}>${label}</option>`;

export function registerUserPages(app: FastifyInstance, dash: Dashboard): void {
  app.get('/dashboard/orgs/:org/users', async (request, reply) => {
    const org = dash.org(request, (request.params as { org: string }).org);
    const raw_ = request.query as Record<string, string | undefined>;
    const connectorIds = dash.deps.config.organizations.find((o) => o.id === org.id)?.connectors.map((c) => c.id) ?? [];
    const filters = readFilters(raw_, connectorIds);
    const limit = PAGE_SIZES.includes(Number(raw_.limit)) ? Number(raw_.limit) : 50;
    const sort: UserSort = (USER_SORTS as readonly string[]).includes(raw_.sort ?? '') ? (raw_.sort as UserSort) : 'added';
    const cursor = raw_.cursor && cursorIsValid(raw_.cursor, sort) ? raw_.cursor : undefined;
    const pageNo = Math.max(1, Math.min(1_000_000, Number(raw_.page) || 1));
    const em = dash.deps.em();
    const query: ListUsersQuery & { organizationId: string } = { organizationId: org.id, ...filters, sort };
    const [page, prev, total, locations, groups, ctx] = await Promise.all([
      listUsers(em, { ...query, cursor, limit }),
      previousCursor(dash.deps.em(), query, cursor, limit),
      // Counted up to 10,000: beyond that the list says 10,000+ (the invite preview counts exactly).
      countUsers(dash.deps.em(), query, 10_000),
      namedOptions(dash.deps.em(), 'locations', org.id),
      namedOptions(dash.deps.em(), 'groups', org.id),
      dash.pageContext(request, org),
    ]);
    const totalText = `${formatCount(total.n)}${total.capped ? '+' : ''}`;
    const linkQuery = { ...filters, limit: limit === 50 ? undefined : limit, sort: sort === 'added' ? undefined : sort };
    // A column's header sorts by it (the filters kept, back to the first page).
    const sortHeader = (label: string, by: UserSort) => html`<th scope="col"${sort === by ? raw(' aria-sort="ascending"') : ''}><a href="${path(['orgs', org.id, 'users'], { ...linkQuery, sort: by === 'added' ? undefined : by })}">${label}${sort === by ? html` <span aria-hidden="true">▲</span>` : ''}</a></th>`;
    const first = (pageNo - 1) * limit + 1;
    const body = html`
${pageHead('Users', { sub: html`<span data-total>${totalText}</span> ${total.n === 1 ? 'user matches' : 'users match'}${hasFilters(filters) ? ' the filter' : ''}. People from HR exist here before anyone invites them.` })}
<form method="get" class="card filters" role="search" aria-label="Filter users" action="${orgPath(org, 'users')}">
  <div class="field field-wide"><label for="f-q">Search</label><input id="f-q" type="search" name="q" value="${filters.q ?? ''}" placeholder="Name, e-mail or employee id" maxlength="200"></div>
  <div class="field"><label for="f-location">Location</label>
    <select id="f-location" name="locationId">${opt('', 'Any location', filters.locationId)}${locations.map((l) => opt(l.id, l.name, filters.locationId))}</select></div>
  <div class="field"><label for="f-group">Group</label>
    <select id="f-group" name="groupId">${opt('', 'Any group', filters.groupId)}${groups.map((g) => opt(g.id, g.name, filters.groupId))}</select></div>
  <div class="field"><label for="f-status">Status</label>
    <select id="f-status" name="status">${opt('', 'Any status', filters.status)}${opt('active', 'Active', filters.status)}${opt('deactivated', 'Deactivated', filters.status)}</select></div>
  <div class="field"><label for="f-access">Access</label>
    <select id="f-access" name="access">${opt('', 'Any access', filters.access)}${opt('none', 'No access', filters.access)}${opt('invited', 'Invited', filters.access)}${opt('active', 'Signed up', filters.access)}</select></div>
  <div class="field"><label for="f-connector">Connector</label>
    <select id="f-connector" name="connectorId">${opt('', 'Any connector', filters.connectorId)}${connectorIds.map((c) => opt(c, c, filters.connectorId))}</select></div>
  <div class="field"><label for="f-sort">Sort</label>
    <select id="f-sort" name="sort">${opt('added', 'As added', sort)}${opt('newest', 'Newest first', sort)}${opt('name', 'Name', sort)}${opt('email', 'E-mail', sort)}</select></div>
  <div class="field"><label for="f-limit">Per page</label>
    <select id="f-limit" name="limit">${PAGE_SIZES.map((n) => opt(String(n), String(n), String(limit)))}</select></div>
  <div class="actions"><button class="btn btn-primary" type="submit">Apply</button><a class="btn" href="${orgPath(org, 'users')}">Clear</a></div>
</form>
<form method="post" action="${orgPath(org, 'invite')}" id="selection-form" data-org="${org.id}">
  ${csrfField(ctx)}
  <input type="hidden" name="step" value="form">
  ${filterHiddenFields(filters)}
  <div class="toolbar">
    <fieldset class="choices">
      <legend class="sr-only">Whom to invite</legend>
      <label class="choice"><input type="radio" name="selection" value="ids" checked> <span>Selected users (<span data-selected-count>0</span>)</span></label>
      <label class="choice"><input type="radio" name="selection" value="filter"> <span>All <strong>${totalText}</strong> users matching ${hasFilters(filters) ? 'the filter' : '(everyone)'}</span></label>
    </fieldset>
    <button class="btn btn-primary" type="submit">Invite…</button>
    <button class="btn" type="button" data-clear-selection hidden>Clear the selection</button>
    <p class="error-text" data-selection-hint tabindex="-1" hidden role="alert">Select at least one user, or choose all users matching the filter.</p>
  </div>
  <div class="table-wrap">
  <table>
    <caption class="sr-only">Users${hasFilters(filters) ? ' matching the filter' : ''}, page ${pageNo}</caption>
    <thead><tr>
      <th scope="col" class="check"><input type="checkbox" data-select-page aria-label="Select all users on this page"></th>
      ${sortHeader('Name', 'name')}${sortHeader('E-mail', 'email')}<th scope="col">Employee id</th><th scope="col">Location</th><th scope="col" class="hide-sm">Groups</th><th scope="col">Status</th><th scope="col">Access</th><th scope="col" class="hide-sm">Connector</th>
    </tr></thead>
    <tbody>
    ${page.users.map((u) => html`<tr>
      <td class="check"><input type="checkbox" name="userIds" value="${u.id}" aria-label="Select ${userName(u)}"></td>
      <td><a href="${orgPath(org, 'users', u.id)}">${userName(u)}</a>${u.jobTitle ? html`<div class="small muted">${u.jobTitle}</div>` : ''}</td>
      <td>${u.email ?? html`<span class="muted">none</span>`}</td>
      <td><code>${u.externalId ?? '—'}</code></td>
      <td>${u.location ?? html`<span class="muted">—</span>`}</td>
      <td class="hide-sm">${u.groups.map((g) => html`<span class="tag">${g}</span>`)}</td>
      <td>${userStatus(u.status)}</td>
      <td>${accessState(u.access)}</td>
      <td class="hide-sm">${u.connectorId ?? html`<span class="muted">by hand</span>`}</td>
    </tr>`)}
    </tbody>
  </table>
  ${page.users.length ? '' : emptyState(hasFilters(filters) ? 'No user matches the filter.' : 'No users yet. Run a sync from Connectors.')}
  </div>
</form>
<nav class="pager" aria-label="Pages">
  <span>${cursor ? html`<a rel="prev" href="${path(['orgs', org.id, 'users'], { ...linkQuery, cursor: prev ?? undefined, page: prev ? Math.max(2, pageNo - 1) : undefined })}">← Previous page</a>${prev ? html` · <a href="${path(['orgs', org.id, 'users'], linkQuery)}">First page</a>` : ''}` : ''}</span>
  <span class="muted small">${page.users.length ? `Page ${pageNo} · ${formatCount(first)}–${formatCount(first + page.users.length - 1)} of ${totalText}` : ''}</span>
  <span>${page.nextCursor ? html`<a rel="next" href="${path(['orgs', org.id, 'users'], { ...linkQuery, cursor: page.nextCursor, page: pageNo + 1 })}">Next page →</a>` : ''}</span>
</nav>`;
    return dash.render(request, reply, org, { title: 'Users', section: 'users', body });
  });

  app.get('/dashboard/orgs/:org/users/:id', async (request, reply) => {
    const params = request.params as { org: string; id: string };
    const org = dash.org(request, params.org);
    const em = dash.deps.em();
    const user = await getUser(em, params.id, org.id);
    if (!user) throw notFound();
    const [invitations, manager, ctx, history] = await Promise.all([userInvitations(dash.deps.em(), user.id, org.id), userManager(dash.deps.em(), user.managerId, org.id), dash.pageContext(request, org), userHistory(dash.deps.em(), user.id, org.id, { order: 'desc', limit: 50 })]);
    const body = html`
${pageHead(userName(user), {
  crumbs: [{ href: orgPath(org, 'users'), label: 'Users' }],
  sub: html`${userStatus(user.status)} ${accessState(user.access)} ${user.jobTitle ? html`· ${user.jobTitle}` : ''}`,
  actions: html`<form method="post" action="${orgPath(org, 'invite')}" class="inline">${csrfField(ctx)}<input type="hidden" name="step" value="form"><input type="hidden" name="selection" value="ids"><input type="hidden" name="userIds" value="${user.id}"><button class="btn btn-primary" type="submit">Invite…</button></form>${user.connectorId && user.externalId ? html` <form method="post" action="${orgPath(org, 'users', user.id, 'sync')}" class="inline">${csrfField(ctx)}<button class="btn" type="submit">Sync this person</button></form>` : ''}`,
})}
<div class="grid grid-wide">
<section class="card" aria-labelledby="u-h">
  <h2 id="u-h">Profile</h2>
  <dl class="props">
    <dt>E-mail</dt><dd>${user.email ?? html`<span class="muted">none</span>`}</dd>
    <dt>Employee id</dt><dd><code>${user.externalId ?? '—'}</code></dd>
    <dt>Connector</dt><dd>${user.connectorId ?? 'created by hand'}</dd>
    <dt>Location</dt><dd>${user.location ?? '—'}</dd>
    <dt>Groups</dt><dd>${user.groups.length ? user.groups.map((g) => html`<span class="tag">${g}</span>`) : '—'}</dd>
    <dt>Manager</dt><dd>${manager ? html`<a href="${orgPath(org, 'users', manager.id)}">${userName(manager)}</a>` : '—'}</dd>
    <dt>Roles</dt><dd>${user.roles.length ? user.roles.map((r) => html`<span class="tag">${r}</span>`) : '—'}</dd>
    <dt>Start date</dt><dd>${user.startDate ?? '—'}</dd>
    <dt>End date</dt><dd>${user.endDate ?? '—'}</dd>
    ${user.plannedDeactivationAt ? html`<dt>Deactivated</dt><dd>${time(user.plannedDeactivationAt)} <span class="muted">(planned: the end of the last day, local time)</span></dd>` : ''}
    <dt>Created</dt><dd>${time(user.createdAt)}</dd>
    <dt>Updated</dt><dd>${time(user.updatedAt)}</dd>
    <dt>User id</dt><dd><code>${user.id}</code></dd>
  </dl>
</section>
<section class="card" aria-labelledby="i-h">
  <h2 id="i-h">Invitations</h2>
  ${invitations.length ? html`<div class="table-wrap"><table>
    <caption class="sr-only">Invitations of this user, newest first</caption>
    <thead><tr><th scope="col">Rollout</th><th scope="col">State</th><th scope="col">Method</th><th scope="col">Sent</th></tr></thead>
    <tbody>${invitations.map((i) => html`<tr>
      <td><a href="${orgPath(org, 'rollouts', i.rolloutId)}"><code>${shortId(i.rolloutId)}</code></a></td>
      <td>${badge(i.status, i.status === 'accepted' || i.status === 'sent' ? 'ok' : i.status === 'failed' ? 'danger' : 'neutral')}${i.lastError ? html`<div class="small muted">${reasonLabel(i.lastError)}</div>` : ''}</td>
      <td>${LOGIN_METHOD_LABELS[i.loginMethod] ?? i.loginMethod}</td>
      <td>${time(i.sentAt)}</td>
    </tr>`)}</tbody></table></div>` : emptyState('Never invited. Creating or syncing a user does not invite them.')}
</section>
</div>
${timeline(org, history.data, history.nextCursor !== null)}`;
    return dash.render(request, reply, org, { title: userName(user), section: 'users', body });
  });

  // "Sync this person": looked up by id at the HR system now and applied; never an invitation.
  app.post('/dashboard/orgs/:org/users/:id/sync', async (request, reply) => {
    const params = request.params as { org: string; id: string };
    const org = dash.org(request, params.org);
    if (!isUuid(params.id)) throw notFound();
    const back = orgPath(org, 'users', params.id);
    try {
      const who = await employeeOfUser(dash.deps.em(), params.id, org.id);
      await syncEmployeesNow(dash.deps, who.connectorId, [who.externalId]);
      return seeOther(reply, back, { notice: 'person_synced' });
    } catch (err) {
      if (isAppError(err) && err.code === 'user_not_found') throw notFound();
      if (isAppError(err)) return seeOther(reply, back, { error: errorCodeKnown(err.code) ? err.code : 'failed' });
      throw err;
    }
  });
}
