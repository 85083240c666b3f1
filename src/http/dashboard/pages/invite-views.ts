import { LOGIN_METHODS, type LoginMethod, type SkipReason } from '../../../domain/rollout-plan.js';
import { MAX_MESSAGE_LENGTH } from '../../../invitations/rollout-service.js';
import { html, path, raw, type HtmlValue, type SafeHtml } from '../html.js';
import type { InviteDraft, InviteState } from '../invite-drafts.js';
import { csrfField, LOGIN_METHOD_LABELS, orgPath, pageHead, reasonLabel, time, type Org, type PageContext } from '../layout.js';
import type { RolloutPreview } from '../queries.js';
import { formatCount, isTimeZone, timeZones } from '../time.js';

/** The invite pages' markup: the form (step 1) and the preview with its confirm button (step 2). */

const METHOD_HINTS: Record<LoginMethod, string> = {
  password: 'They set a password from the link in the e-mail.',
  sso: 'They sign in with the company’s identity provider.',
  magic_link: 'They sign in from a link sent by e-mail; no password.',
};

export type Errors = Partial<Record<'loginMethod' | 'message' | 'at' | 'tz' | 'general', string>>;

export interface Described {
  /** "3 selected users" / "All users matching location Berlin" */
  description: string;
  note: string | null;
}

export function usersLink(org: Org, s: InviteState): string {
  return path(['orgs', org.id, 'users'], { ...s.filters });
}

function fieldError(id: string, msg: string | undefined): HtmlValue {
  return msg ? html`<p class="error-text" id="${id}-error">${msg}</p>` : '';
}

const invalid = (id: string, msg: string | undefined): SafeHtml => (msg ? raw(` aria-invalid="true" aria-describedby="${id}-error"`) : raw(''));

export function formPage(ctx: PageContext, org: Org, draft: InviteDraft, r: Described, errors: Errors): SafeHtml {
  const s = draft.state;
  const method = s.loginMethod ?? 'password';
  const tz = s.tz && isTimeZone(s.tz) ? s.tz : 'UTC';
  const len = s.message?.length ?? 0;
  return html`
${pageHead('Invite users', { crumbs: [{ href: usersLink(org, s), label: 'Users' }], sub: 'Nothing is sent until you confirm on the next page.' })}
${errors.general ? html`<div class="notice notice-error" role="alert">${errors.general}</div>` : ''}
<section class="card" aria-labelledby="who-h">
  <h2 id="who-h">Who</h2>
  <p><strong data-selection-summary>${r.description}</strong></p>
  ${r.note ? html`<p class="small muted">${r.note}</p>` : ''}
  <a href="${usersLink(org, s)}">Change the selection</a>
</section>
<form method="post" action="${orgPath(org, 'invite', draft.id)}" class="card form-grid" novalidate data-persist="invite-${draft.id}">
  ${csrfField(ctx)}
  <fieldset>
    <legend>Login method</legend>
    <div class="choices">
      ${LOGIN_METHODS.map((m) => html`<label class="choice"><input type="radio" name="loginMethod" value="${m}"${m === method ? raw(' checked') : ''}${invalid('loginMethod', errors.loginMethod)}> <span>${LOGIN_METHOD_LABELS[m]}<span class="hint">${METHOD_HINTS[m]}</span></span></label>`)}
    </div>
    ${fieldError('loginMethod', errors.loginMethod)}
  </fieldset>
  <div class="field">
    <label for="message">Personal message <span class="hint">(optional, plain text, shown in the e-mail; at most ${MAX_MESSAGE_LENGTH} characters)</span></label>
    <textarea id="message" name="message" data-max="${MAX_MESSAGE_LENGTH}" data-counter="message-count" aria-describedby="message-count${errors.message ? ' message-error' : ''}"${errors.message ? raw(' aria-invalid="true"') : ''}>${s.message ?? ''}</textarea>
    <span class="hint" id="message-count">${formatCount(len)} / ${MAX_MESSAGE_LENGTH} characters</span>
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

export function previewPage(ctx: PageContext, org: Org, draft: InviteDraft, r: Described, p: RolloutPreview, sendAt: Date | null, error: string | null): SafeHtml {
  const s = draft.state;
  const reasons = REASON_ORDER.filter((k) => p.skipped[k]).concat((Object.keys(p.skipped) as SkipReason[]).filter((k) => !REASON_ORDER.includes(k)));
  const verb = sendAt ? 'Schedule' : 'Send';
  const busy = sendAt ? 'Scheduling…' : 'Sending…';
  return html`
${pageHead('Review the invitation', { crumbs: [{ href: usersLink(org, s), label: 'Users' }], sub: 'Nothing has been sent yet. Check the numbers, then confirm.' })}
${error ? html`<div class="notice notice-error" role="alert">${error}</div>` : ''}
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
  ${p.invite === 0 ? html`<div class="notice notice-warn spaced" role="status" data-nothing-to-send>Nobody would be invited: there is nothing to ${verb.toLowerCase()}. Change the selection or the options.</div>` : ''}
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
  ${p.invite > 0 && draft.confirmKey ? html`<form method="post" action="${orgPath(org, 'invite', draft.id, 'confirm')}" class="inline" data-submit-once data-busy-text="${busy}" data-forget="invite-${draft.id}"${s.selection === 'ids' ? html` data-forget-ticks="${org.id}"` : ''}>
    ${csrfField(ctx)}<input type="hidden" name="submissionKey" value="${draft.confirmKey}">
    <button class="btn btn-primary" type="submit" data-confirm-button>${verb} ${formatCount(p.invite)} invitation${p.invite === 1 ? '' : 's'}</button>
  </form>` : ''}
  <a class="btn" href="${orgPath(org, 'invite', draft.id)}">Change</a>
</div>`;
}
