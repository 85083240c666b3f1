import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { idempotent } from '../../../db/idempotency-keys.js';
import { LOGIN_METHODS, type LoginMethod, type SkipReason } from '../../../domain/rollout-plan.js';
import { MAX_MESSAGE_LENGTH, type RolloutFilter } from '../../../invitations/rollout-service.js';
import { isAppError } from '../../../lib/errors.js';
import { seeOther, type Dashboard } from '../context.js';
import { asForm, field, fields, type Form } from '../forms.js';
import { html, path, raw, type HtmlValue, type SafeHtml } from '../html.js';
import { csrfField, LOGIN_METHOD_LABELS, orgPath, pageHead, reasonLabel, time, type Org, type PageContext } from '../layout.js';
import { isUuid } from '../../../domain/uuid.js';
import { matchingUserIds, namedById, previewRollout, type Selection } from '../queries.js';
import { formatCount, isTimeZone, timeZones, zonedTimeToUtc } from '../time.js';
import { describeFilters, filterHiddenFields, readFilters, type UserFilters } from './users.js';

const MAX_USERS = 200_000;

const METHOD_HINTS: Record<LoginMethod, string> = {
  password: 'They set a password from the link in the e-mail.',
  sso: 'They sign in with the company’s identity provider.',
  magic_link: 'They sign in from a link sent by e-mail; no password.',
};

/** Everything the invite form carries from step to step, in hidden fields. */
interface InviteState {
  selection: 'ids' | 'filter';
  userIds: string[];
  filters: UserFilters;
  loginMethod?: string;
  message?: string;
  when: 'now' | 'later';
  at?: string;
  tz?: string;
  resend: boolean;
}

function readState(form: Form, connectorIds: readonly string[]): InviteState {
  const flat: Record<string, string | undefined> = {};
  for (const k of Object.keys(form)) flat[k] = form[k]?.[0];
  return {
    selection: field(form, 'selection') === 'filter' ? 'filter' : 'ids',
    userIds: [...new Set(fields(form, 'userIds').filter(isUuid))],
    filters: readFilters(flat, connectorIds, 'f_'),
    loginMethod: field(form, 'loginMethod'),
    message: field(form, 'message', { trim: false })?.replace(/\r\n?/g, '\n'),
    when: field(form, 'when') === 'later' ? 'later' : 'now',
    at: field(form, 'at'),
    tz: field(form, 'tz'),
    resend: field(form, 'resend') === '1',
  };
}

/** The selection's hidden fields: the user ids or the filter. */
function selectionFields(s: InviteState): SafeHtml {
  return html`<input type="hidden" name="selection" value="${s.selection}">
${s.selection === 'ids' ? s.userIds.map((id) => html`<input type="hidden" name="userIds" value="${id}">`) : ''}
${filterHiddenFields(s.filters)}`;
}

function optionFields(s: InviteState): SafeHtml {
  return html`${s.loginMethod ? html`<input type="hidden" name="loginMethod" value="${s.loginMethod}">` : ''}
${s.message ? html`<input type="hidden" name="message" value="${s.message}">` : ''}
<input type="hidden" name="when" value="${s.when}">
${s.at ? html`<input type="hidden" name="at" value="${s.at}">` : ''}
${s.tz ? html`<input type="hidden" name="tz" value="${s.tz}">` : ''}
${s.resend ? html`<input type="hidden" name="resend" value="1">` : ''}`;
}

type Errors = Partial<Record<'loginMethod' | 'message' | 'at' | 'tz' | 'general', string>>;

function validate(s: InviteState, now = new Date()): { errors: Errors; sendAt: Date | null } {
  const errors: Errors = {};
  if (!s.loginMethod || !(LOGIN_METHODS as readonly string[]).includes(s.loginMethod)) errors.loginMethod = 'Choose how they will sign in.';
  if (s.message && s.message.trim().length > MAX_MESSAGE_LENGTH) errors.message = `At most ${MAX_MESSAGE_LENGTH} characters (this one has ${s.message.trim().length}).`;
  let sendAt: Date | null = null;
  if (s.when === 'later') {
    if (!s.tz || !isTimeZone(s.tz)) errors.tz = 'Choose a time zone.';
    if (!s.at) errors.at = 'Enter the date and time to send.';
    else if (!errors.tz) {
      sendAt = zonedTimeToUtc(s.at, s.tz!);
      if (!sendAt) errors.at = 'That is not a valid date and time.';
      else if (sendAt.getTime() < now.getTime() - 60_000) errors.at = 'That time has passed: choose a time in the future, or send now.';
      else if (sendAt.getTime() > now.getTime() + 366 * 86_400_000) errors.at = 'Choose a time within the next year.';
    }
  }
  return { errors, sendAt };
}

interface Resolved {
  selection: Selection;
  /** "3 selected users" / "All users matching location Berlin" */
  description: string;
  note: string | null;
}

/** The rollout selection a state names: ids, or a filter resolved when the rollout fires. */
async function resolveSelection(dash: Dashboard, org: Org, s: InviteState): Promise<Resolved | { error: string }> {
  if (s.selection === 'ids') {
    if (s.userIds.length === 0) return { error: 'nothing_selected' };
    if (s.userIds.length > MAX_USERS) return { error: 'too_many' };
    return { selection: { userIds: s.userIds }, description: `${formatCount(s.userIds.length)} selected user${s.userIds.length === 1 ? '' : 's'}`, note: null };
  }
  const em = dash.deps.em();
  const described = await describeFilters(dash, org, s.filters);
  if (s.filters.q) {
    // A rollout filter has no search text: the users matching now are named by id.
    const ids = await matchingUserIds(em, { organizationId: org.id, ...s.filters }, MAX_USERS);
    if (ids.length === 0) return { error: 'nothing_selected' };
    if (ids.length > MAX_USERS) return { error: 'too_many' };
    return { selection: { userIds: ids }, description: `All users matching ${described}`, note: 'A search text cannot be resolved later: the users who match it now are invited by id.' };
  }
  const filter: RolloutFilter = {};
  if (s.filters.locationId) {
    const name = await namedById(em, 'locations', org.id, s.filters.locationId);
    if (!name) return { error: 'nothing_selected' };
    filter.location = name;
  }
  if (s.filters.groupId) {
    const name = await namedById(em, 'groups', org.id, s.filters.groupId);
    if (!name) return { error: 'nothing_selected' };
    filter.group = name;
  }
  if (s.filters.connectorId) filter.connector = s.filters.connectorId;
  if (s.filters.status) filter.status = s.filters.status;
  if (s.filters.access) filter.access = s.filters.access;
  return {
    selection: { filter },
    description: `All users matching ${described}`,
    note: 'The filter is resolved when the rollout fires: whoever matches then is invited, and the numbers below may change until then.',
  };
}

function usersLink(org: Org, s: InviteState): string {
  return path(['orgs', org.id, 'users'], { ...s.filters });
}

function fieldError(id: string, msg: string | undefined): HtmlValue {
  return msg ? html`<p class="error-text" id="${id}-error">${msg}</p>` : '';
}

const invalid = (id: string, msg: string | undefined): SafeHtml => (msg ? raw(` aria-invalid="true" aria-describedby="${id}-error"`) : raw(''));

function formPage(ctx: PageContext, org: Org, s: InviteState, r: Resolved, errors: Errors): SafeHtml {
  const method = s.loginMethod ?? 'password';
  const tz = s.tz && isTimeZone(s.tz) ? s.tz : 'UTC';
  return html`
${pageHead('Invite users', { crumbs: [{ href: usersLink(org, s), label: 'Users' }], sub: 'Nothing is sent until you confirm on the next page.' })}
${errors.general ? html`<div class="notice notice-error" role="alert">${errors.general}</div>` : ''}
<section class="card" aria-labelledby="who-h">
  <h2 id="who-h">Who</h2>
  <p><strong data-selection-summary>${r.description}</strong></p>
  ${r.note ? html`<p class="small muted">${r.note}</p>` : ''}
  <a href="${usersLink(org, s)}">Change the selection</a>
</section>
<form method="post" action="${orgPath(org, 'invite')}" class="card form-grid" novalidate>
  ${csrfField(ctx)}
  <input type="hidden" name="step" value="preview">
  ${selectionFields(s)}
  <fieldset>
    <legend>Login method</legend>
    <div class="choices">
      ${LOGIN_METHODS.map((m) => html`<label class="choice"><input type="radio" name="loginMethod" value="${m}"${m === method ? raw(' checked') : ''}${invalid('loginMethod', errors.loginMethod)}> <span>${LOGIN_METHOD_LABELS[m]}<span class="hint">${METHOD_HINTS[m]}</span></span></label>`)}
    </div>
    ${fieldError('loginMethod', errors.loginMethod)}
  </fieldset>
  <div class="field">
    <label for="message">Personal message <span class="hint">(optional, plain text, shown in the e-mail)</span></label>
    <textarea id="message" name="message" maxlength="${MAX_MESSAGE_LENGTH}" data-counter="message-count" aria-describedby="message-count${errors.message ? ' message-error' : ''}"${errors.message ? raw(' aria-invalid="true"') : ''}>${s.message ?? ''}</textarea>
    <span class="hint" id="message-count">${formatCount(s.message?.length ?? 0)} / ${MAX_MESSAGE_LENGTH}</span>
    ${fieldError('message', errors.message)}
  </div>
  <fieldset>
    <legend>When</legend>
    <div class="choices">
      <label class="choice"><input type="radio" name="when" value="now"${s.when === 'now' ? raw(' checked') : ''}> <span>Send now</span></label>
      <label class="choice"><input type="radio" name="when" value="later"${s.when === 'later' ? raw(' checked') : ''}> <span>Schedule for a date and time</span></label>
    </div>
  </fieldset>
  <div class="row" data-schedule-fields>
    <div class="field">
      <label for="at">Date and time</label>
      <input id="at" name="at" type="datetime-local" step="1" value="${s.at ?? ''}"${invalid('at', errors.at)}>
      ${fieldError('at', errors.at)}
    </div>
    <div class="field">
      <label for="tz">Time zone</label>
      <select id="tz" name="tz"${s.tz ? '' : raw(' data-tz-auto')}${invalid('tz', errors.tz)}>${timeZones().map((z) => html`<option value="${z}"${z === tz ? raw(' selected') : ''}>${z.replace(/_/g, ' ')}</option>`)}</select>
      ${fieldError('tz', errors.tz)}
    </div>
  </div>
  <label class="choice"><input type="checkbox" name="resend" value="1"${s.resend ? raw(' checked') : ''}> <span>Re-send to users invited before who have not signed up<span class="hint">Their old link stops working. Users who signed up never get another invitation.</span></span></label>
  <div class="actions"><button class="btn btn-primary" type="submit">Preview</button><a class="btn" href="${usersLink(org, s)}">Cancel</a></div>
</form>`;
}

const REASON_ORDER: SkipReason[] = ['deactivated', 'no_email', 'invalid_email', 'already_invited', 'pending_elsewhere', 'already_active', 'not_found'];

async function previewPage(dash: Dashboard, ctx: PageContext, org: Org, s: InviteState, r: Resolved, sendAt: Date | null): Promise<SafeHtml> {
  const p = await previewRollout(dash.deps.em(), org.id, r.selection, s.resend);
  const reasons = REASON_ORDER.filter((k) => p.skipped[k]).concat((Object.keys(p.skipped) as SkipReason[]).filter((k) => !REASON_ORDER.includes(k)));
  const verb = sendAt ? 'Schedule' : 'Send';
  return html`
${pageHead('Review the invitation', { crumbs: [{ href: usersLink(org, s), label: 'Users' }], sub: 'Nothing has been sent yet. Check the numbers, then confirm.' })}
<section class="card" aria-labelledby="preview-h" data-preview>
  <h2 id="preview-h">${r.description}</h2>
  ${r.note ? html`<p class="small muted">${r.note}</p>` : ''}
  <div class="stats">
    <div class="stat stat-ok"><div class="label">Will be invited</div><div class="value" data-preview-invite>${formatCount(p.invite)}</div></div>
    <div class="stat ${p.skippedTotal ? 'stat-warn' : ''}"><div class="label">Skipped</div><div class="value" data-preview-skipped>${formatCount(p.skippedTotal)}</div></div>
    <div class="stat"><div class="label">Selected</div><div class="value">${formatCount(p.matched)}</div></div>
  </div>
  ${reasons.length ? html`<h3 class="spaced">Why some are skipped</h3>
  <div class="table-wrap"><table>
    <caption class="sr-only">Skipped users by reason</caption>
    <thead><tr><th scope="col">Reason</th><th scope="col" class="num">Users</th><th scope="col">For example</th></tr></thead>
    <tbody>${reasons.map((k) => html`<tr data-reason="${k}"><td>${reasonLabel(k)}</td><td class="num">${formatCount(p.skipped[k])}</td><td>${(p.examples[k] ?? []).map((e, i) => html`${i ? ', ' : ''}<a href="${orgPath(org, 'users', e.id)}">${e.name}</a>`)}</td></tr>`)}</tbody>
  </table></div>` : html`<p class="muted">Nobody is skipped.</p>`}
  ${p.invite === 0 ? html`<div class="notice notice-warn spaced" role="status">Nobody would be invited right now.</div>` : ''}
</section>
<section class="card" aria-labelledby="what-h">
  <h2 id="what-h">The invitation</h2>
  <dl class="props">
    <dt>Login method</dt><dd>${LOGIN_METHOD_LABELS[s.loginMethod!] ?? s.loginMethod}</dd>
    <dt>Message</dt><dd class="pre">${s.message?.trim() ? s.message.trim() : html`<span class="muted">none</span>`}</dd>
    <dt>Sends</dt><dd>${sendAt ? html`${time(sendAt, { seconds: true })} <span class="muted">(${s.at?.replace('T', ' ')} ${s.tz})</span>` : 'now'}</dd>
    <dt>Re-send</dt><dd>${s.resend ? 'yes: users invited before get a new link' : 'no'}</dd>
  </dl>
</section>
<div class="actions">
  <form method="post" action="${orgPath(org, 'invite')}" class="inline" data-submit-once>
    ${csrfField(ctx)}<input type="hidden" name="step" value="confirm"><input type="hidden" name="submissionKey" value="${randomUUID()}">${selectionFields(s)}${optionFields(s)}
    <button class="btn btn-primary" type="submit">${verb} ${formatCount(p.invite)} invitation${p.invite === 1 ? '' : 's'}</button>
  </form>
  <form method="post" action="${orgPath(org, 'invite')}" class="inline">
    ${csrfField(ctx)}<input type="hidden" name="step" value="form">${selectionFields(s)}${optionFields(s)}
    <button class="btn" type="submit">Change</button>
  </form>
</div>`;
}

export function registerInvitePages(app: FastifyInstance, dash: Dashboard): void {
  app.post('/dashboard/orgs/:org/invite', async (request: FastifyRequest, reply: FastifyReply) => {
    const org = dash.org(request, (request.params as { org: string }).org);
    const form = asForm(request.body);
    const connectorIds = dash.deps.config.organizations.find((o) => o.id === org.id)?.connectors.map((c) => c.id) ?? [];
    const s = readState(form, connectorIds);
    const step = field(form, 'step') ?? 'form';
    const resolved = await resolveSelection(dash, org, s);
    if ('error' in resolved) return seeOther(reply, usersLink(org, s), { error: resolved.error });
    const ctx = await dash.pageContext(request, org);
    const show = (body: SafeHtml, status = 200) => dash.render(request, reply, org, { title: 'Invite users', section: 'users', body, status, notice: null });
    if (step === 'form') return show(formPage(ctx, org, s, resolved, {}));
    const { errors, sendAt } = validate(s);
    if (Object.keys(errors).length > 0) return show(formPage(ctx, org, s, resolved, errors), 400);
    if (step === 'preview') return show(await previewPage(dash, ctx, org, s, resolved, sendAt));
    if (step !== 'confirm') return show(formPage(ctx, org, s, resolved, {}));
    try {
      const input = { ...resolved.selection, loginMethod: s.loginMethod as LoginMethod, message: s.message?.trim() || null, resend: s.resend, ...(sendAt ? { sendAt: sendAt.toISOString() } : {}) };
      const createdBy = dash.createdBy(request);
      // The confirm form's one-time key: a second submit of the same page (a double click, a
      // reload, the back button) shows the rollout the first one created instead of another.
      const key = field(form, 'submissionKey');
      if (!key || !isUuid(key)) return show(formPage(ctx, org, s, resolved, { general: 'This form has expired; review the invitation again.' }), 400);
      let afterCommit: (() => Promise<void>) | null = null;
      const r = await idempotent(dash.deps.em(), { organizationId: org.id, scope: 'dashboard invite', key, body: { key } }, async (tx) => {
        const created = await dash.deps.rollouts.createIn(tx, org.id, input, { createdBy });
        afterCommit = created.afterCommit;
        return { statusCode: 303, response: { id: created.record.id } };
      });
      if (afterCommit) await (afterCommit as () => Promise<void>)();
      return seeOther(reply, orgPath(org, 'rollouts', r.response.id), { notice: 'rollout_created' });
    } catch (err) {
      if (isAppError(err) && err.code === 'validation_failed') return show(formPage(ctx, org, s, resolved, { general: err.message }), 400);
      if ((err as { name?: string }).name === 'ZodError') return show(formPage(ctx, org, s, resolved, { general: 'Some values are not valid; check them and try again.' }), 400);
      throw err;
    }
  });
}

