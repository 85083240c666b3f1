import type { FastifyInstance, FastifyRequest } from 'fastify';
import { idempotent } from '../../../db/idempotency-keys.js';
import { LOGIN_METHODS, type LoginMethod } from '../../../domain/rollout-plan.js';
import { isUuid } from '../../../domain/uuid.js';
import { MAX_MESSAGE_LENGTH, type RolloutFilter } from '../../../invitations/rollout-service.js';
import { isAppError } from '../../../lib/errors.js';
import { notFound, seeOther, type Dashboard } from '../context.js';
import { asForm, field, fields, type Form } from '../forms.js';
import { createDraft, loadDraft, markConfirmed, recordPreviewCount, rotateConfirmKey, saveDraft, type InviteDraft, type InviteState } from '../invite-drafts.js';
import { orgPath, type Org } from '../layout.js';
import { namedById, previewRollout, type Selection } from '../queries.js';
import { formatCount, isTimeZone, zonedTimeToUtc } from '../time.js';
import { formPage, previewPage, usersLink, type Described, type Errors } from './invite-views.js';
import { describeFilters, readFilters } from './users.js';

/**
 * Inviting from the dashboard, POST → redirect → GET at every step:
 *   POST /invite                 the selection (ticked ids, or "all matching" as a filter) → a draft
 *   GET  /invite/:draft          the form          POST /invite/:draft → saved, → the preview
 *   GET  /invite/:draft/preview  the numbers and the confirm button (a one-time key)
 *   POST /invite/:draft/confirm  the rollout, once: a second confirm (double click, Back,
 *                                Reload) lands on the rollout the first created.
 */

const MAX_USERS = 200_000;

function readOptions(form: Form, base: InviteState): InviteState {
  return {
    ...base,
    loginMethod: field(form, 'loginMethod'),
    message: field(form, 'message', { trim: false })?.replace(/\r\n?/g, '\n'),
    when: field(form, 'when') === 'later' ? 'later' : 'now',
    at: field(form, 'at'),
    tz: field(form, 'tz'),
    resend: field(form, 'resend') === '1',
  };
}

function validate(s: InviteState, now = new Date()): { errors: Errors; sendAt: Date | null } {
  const errors: Errors = {};
  if (!s.loginMethod || !(LOGIN_METHODS as readonly string[]).includes(s.loginMethod)) errors.loginMethod = 'Choose how they will sign in.';
  const len = s.message?.trim().length ?? 0;
  if (len > MAX_MESSAGE_LENGTH) errors.message = `At most ${MAX_MESSAGE_LENGTH} characters: this one has ${formatCount(len)}. Shorten it by ${formatCount(len - MAX_MESSAGE_LENGTH)}.`;
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

/**
 * The rollout selection a state names: the ticked ids, or the filter itself — search text
 * included — resolved by the server when the rollout fires (no ids through the browser).
 */
async function resolveSelection(dash: Dashboard, org: Org, s: InviteState): Promise<(Described & { selection: Selection }) | { error: string }> {
  if (s.selection === 'ids') {
    if (s.userIds.length === 0) return { error: 'nothing_selected' };
    if (s.userIds.length > MAX_USERS) return { error: 'too_many' };
    return { selection: { userIds: s.userIds }, description: `${formatCount(s.userIds.length)} selected user${s.userIds.length === 1 ? '' : 's'}`, note: null };
  }
  const em = dash.deps.em();
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
  if (s.filters.q) filter.search = s.filters.q;
  return {
    selection: { filter },
    description: `All users matching ${await describeFilters(dash, org, s.filters)}`,
    note: 'The filter is resolved when the rollout fires: whoever matches then is invited, and the numbers below may change until then.',
  };
}

function connectorIdsOf(dash: Dashboard, org: Org): string[] {
  return dash.deps.config.organizations.find((o) => o.id === org.id)?.connectors.map((c) => c.id) ?? [];
}

async function draftOf(dash: Dashboard, request: FastifyRequest): Promise<{ org: Org; draft: InviteDraft }> {
  const params = request.params as { org: string; draft: string };
  const org = dash.org(request, params.org);
  const draft = isUuid(params.draft) ? await loadDraft(dash.deps.em(), org.id, params.draft) : null;
  if (!draft) throw notFound();
  return { org, draft };
}

interface ConfirmOutcome { id: string | null; error: string | null }

const rolloutPath = (org: Org, id: string) => orgPath(org, 'rollouts', id);

export function registerInvitePages(app: FastifyInstance, dash: Dashboard): void {
  // From the users list (or a user's page): the selection becomes a draft.
  app.post('/dashboard/orgs/:org/invite', async (request, reply) => {
    const org = dash.org(request, (request.params as { org: string }).org);
    const form = asForm(request.body);
    const flat: Record<string, string | undefined> = {};
    for (const k of Object.keys(form)) flat[k] = form[k]?.[0];
    const state: InviteState = {
      selection: field(form, 'selection') === 'filter' ? 'filter' : 'ids',
      userIds: [...new Set(fields(form, 'userIds').filter(isUuid))],
      filters: readFilters(flat, connectorIdsOf(dash, org), 'f_'),
      when: 'now',
      resend: false,
    };
    if (state.selection === 'filter') state.userIds = [];
    const resolved = await resolveSelection(dash, org, state);
    if ('error' in resolved) return seeOther(reply, usersLink(org, state), { error: resolved.error });
    const id = await createDraft(dash.deps.em(), org.id, state);
    return seeOther(reply, orgPath(org, 'invite', id));
  });

  app.get('/dashboard/orgs/:org/invite/:draft', async (request, reply) => {
    const { org, draft } = await draftOf(dash, request);
    if (draft.rolloutId) return seeOther(reply, rolloutPath(org, draft.rolloutId));
    const resolved = await resolveSelection(dash, org, draft.state);
    if ('error' in resolved) return seeOther(reply, usersLink(org, draft.state), { error: resolved.error });
    const ctx = await dash.pageContext(request, org);
    return dash.render(request, reply, org, { title: 'Invite users', section: 'users', body: formPage(ctx, org, draft, resolved, {}) });
  });

  app.post('/dashboard/orgs/:org/invite/:draft', async (request, reply) => {
    const { org, draft } = await draftOf(dash, request);
    if (draft.rolloutId) return seeOther(reply, rolloutPath(org, draft.rolloutId));
    const state = readOptions(asForm(request.body), draft.state);
    const { errors } = validate(state);
    const valid = Object.keys(errors).length === 0;
    await saveDraft(dash.deps.em(), org.id, draft.id, state, { preview: valid });
    if (valid) return seeOther(reply, orgPath(org, 'invite', draft.id, 'preview'));
    const resolved = await resolveSelection(dash, org, state);
    if ('error' in resolved) return seeOther(reply, usersLink(org, state), { error: resolved.error });
    const ctx = await dash.pageContext(request, org);
    return dash.render(request, reply, org, { title: 'Invite users', section: 'users', status: 400, notice: null, body: formPage(ctx, org, { ...draft, state }, resolved, errors) });
  });

  app.get('/dashboard/orgs/:org/invite/:draft/preview', async (request, reply) => {
    const { org, draft } = await draftOf(dash, request);
    if (draft.rolloutId) return seeOther(reply, rolloutPath(org, draft.rolloutId));
    const resolved = await resolveSelection(dash, org, draft.state);
    if ('error' in resolved) return seeOther(reply, usersLink(org, draft.state), { error: resolved.error });
    const { errors, sendAt } = validate(draft.state);
    if (Object.keys(errors).length > 0 || !draft.confirmKey) return seeOther(reply, orgPath(org, 'invite', draft.id));
    const p = await previewRollout(dash.deps.em(), org.id, resolved.selection, draft.state.resend);
    await recordPreviewCount(dash.deps.em(), draft.id, p.invite);
    const q = request.query as Record<string, string | undefined>;
    const error = q.error === 'stale' ? 'The invitation changed in another tab or window: check it again before you confirm.' : q.error === 'empty' ? 'Nobody would be invited any more: nothing was sent.' : null;
    const ctx = await dash.pageContext(request, org);
    return dash.render(request, reply, org, { title: 'Review the invitation', section: 'users', notice: null, body: previewPage(ctx, org, draft, resolved, p, sendAt, error) });
  });

  app.post('/dashboard/orgs/:org/invite/:draft/confirm', async (request, reply) => {
    const { org, draft } = await draftOf(dash, request);
    if (draft.rolloutId) return seeOther(reply, rolloutPath(org, draft.rolloutId));
    const key = field(asForm(request.body), 'submissionKey');
    if (!key || !isUuid(key)) return seeOther(reply, orgPath(org, 'invite', draft.id, 'preview'), { error: 'stale' });
    const createdBy = dash.createdBy(request);
    let afterCommit: (() => Promise<void>) | null = null;
    // The draft's row, locked, is the one-time token: the first confirm creates the rollout and
    // spends the draft; any other (concurrent or later) finds the rollout. The key is also an
    // idempotency key, as the API's Idempotency-Key is.
    const r = await idempotent<ConfirmOutcome>(dash.deps.em(), { organizationId: org.id, scope: 'dashboard invite', key, body: { draft: draft.id } }, async (tx) => {
      const d = await loadDraft(tx, org.id, draft.id, { lock: true });
      if (!d) return { statusCode: 404, response: { id: null, error: 'gone' } };
      if (d.rolloutId) return { statusCode: 303, response: { id: d.rolloutId, error: null } };
      if (d.confirmKey !== key) return { statusCode: 409, response: { id: null, error: 'stale' } };
      const resolved = await resolveSelection(dash, org, d.state);
      const { errors, sendAt } = validate(d.state);
      if ('error' in resolved || Object.keys(errors).length > 0) return { statusCode: 409, response: { id: null, error: 'stale' } };
      // "Send 0 invitations" is not a rollout.
      const p = await previewRollout(tx, org.id, resolved.selection, d.state.resend, 1);
      if (p.invite === 0) {
        // A new key for the next preview: this one's answer ("nothing to send") is kept with it.
        await rotateConfirmKey(tx, d.id);
        return { statusCode: 409, response: { id: null, error: 'empty' } };
      }
      const input = { ...resolved.selection, loginMethod: d.state.loginMethod as LoginMethod, message: d.state.message?.trim() || null, resend: d.state.resend, ...(sendAt ? { sendAt: sendAt.toISOString() } : {}) };
      const created = await dash.deps.rollouts.createIn(tx, org.id, input, { createdBy });
      afterCommit = created.afterCommit;
      await markConfirmed(tx, d.id, created.record.id);
      await recordPreviewCount(tx, d.id, p.invite);
      return { statusCode: 303, response: { id: created.record.id, error: null } };
    }).catch((err: unknown) => {
      if (isAppError(err) && err.code === 'conflict') return null; // the same key still being processed: the rollout comes from the first
      throw err;
    });
    if (afterCommit) await (afterCommit as () => Promise<void>)();
    if (r?.response.id) return seeOther(reply, rolloutPath(org, r.response.id), r.replayed ? undefined : { notice: 'rollout_created' });
    if (!r) {
      // Another submit holds the key right now: wait for it and land where it lands.
      const after = await loadDraft(dash.deps.em(), org.id, draft.id);
      if (after?.rolloutId) return seeOther(reply, rolloutPath(org, after.rolloutId));
    }
    return seeOther(reply, orgPath(org, 'invite', draft.id, 'preview'), { error: r?.response.error === 'empty' ? 'empty' : 'stale' });
  });
}
