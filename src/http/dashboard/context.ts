import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthLimiter } from '../auth-limiter.js';
import type { HttpDeps } from '../deps.js';
import { SCRIPT } from './assets/script.js';
import { ICON_SVG } from './assets/icon.js';
import { STYLES } from './assets/styles.js';
import { html, path, type HtmlValue } from './html.js';
import { layout, type Notice, type Org, type PageContext, type Section } from './layout.js';
import { heldRunCount } from './queries.js';
import { SESSION_COOKIE, SessionStore, type DashboardPrincipal, type Session } from './session.js';

/** What a route sends for a status other than 200: rendered by the dashboard's error handler. */
export class PageError extends Error {
  override readonly name = 'PageError';
  constructor(readonly status: number, readonly title: string, message: string) {
    super(message);
  }
}

export const notFound = () => new PageError(404, 'Not found', 'There is nothing here, or it belongs to an organization you cannot see.');

export interface Asset {
  url: string;
  body: string;
  type: string;
  etag: string;
}

function asset(name: string, ext: string, body: string, type: string): Asset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { url: `/dashboard/assets/${name}.${hash}.${ext}`, body, type, etag: `"${hash}"` };
}

/** Shared by every dashboard route: the services, the session store and the fingerprinted assets. */
export class Dashboard {
  readonly sessionStore: SessionStore;
  readonly assets: { css: Asset; js: Asset; icon: Asset };
  private readonly sessions = new WeakMap<FastifyRequest, Session>();

  constructor(readonly deps: HttpDeps, readonly authLimiter: AuthLimiter) {
    this.sessionStore = new SessionStore(deps.em, deps.config.adminToken);
    this.assets = {
      css: asset('app', 'css', STYLES, 'text/css; charset=utf-8'),
      js: asset('app', 'js', SCRIPT, 'text/javascript; charset=utf-8'),
      icon: asset('icon', 'svg', ICON_SVG, 'image/svg+xml'),
    };
  }

  get assetUrls(): PageContext['assets'] {
    return { css: this.assets.css.url, js: this.assets.js.url, icon: this.assets.icon.url };
  }

  organizations(): Org[] {
    return this.deps.config.organizations.map((o) => ({ id: o.id, name: o.name }));
  }

  /** The request's session, checked in the store: not signed out, not expired, its token not revoked or replaced. */
  async load(request: FastifyRequest): Promise<Session | null> {
    if (this.sessions.has(request)) return this.sessions.get(request)!;
    const s = await this.sessionStore.load(request.cookies?.[SESSION_COOKIE]);
    if (!s) return null;
    this.sessions.set(request, s);
    return s;
  }

  /**
   * A CSRF token for this request's forms (@fastify/csrf-protection: its secret in a signed
   * cookie, the token bound to the session, so a token from before sign-in or of another
   * session is refused).
   */
  csrfToken(request: FastifyRequest, reply: FastifyReply): string {
    return reply.generateCsrf({ userInfo: csrfUserInfo(this.loaded(request)) } as never);
  }

  /** The session loaded for this request, if any (no store round trip). */
  loaded(request: FastifyRequest): Session | null {
    return this.sessions.get(request) ?? null;
  }

  /** Cookie options for the dashboard's cookies: HttpOnly, SameSite, Secure when APP_URL is https. */
  cookieOptions(maxAgeSeconds?: number): { path: string; httpOnly: true; sameSite: 'lax'; secure: boolean; maxAge?: number } {
    return { path: '/dashboard', httpOnly: true, sameSite: 'lax', secure: this.deps.config.http.cookieSecure, ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}) };
  }

  session(request: FastifyRequest): Session {
    const s = this.sessions.get(request);
    if (!s) throw new PageError(401, 'Signed out', 'Sign in to continue.');
    return s;
  }

  principal(request: FastifyRequest): DashboardPrincipal {
    return this.session(request).principal;
  }

  /** The organizations this principal may see. */
  visibleOrgs(p: DashboardPrincipal): Org[] {
    const all = this.organizations();
    return p.kind === 'admin' ? all : all.filter((o) => o.id === p.organizationId);
  }

  /**
   * The organization named in the URL, if this principal may see it. Another organization's
   * pages answer 404, exactly as if they did not exist.
   */
  org(request: FastifyRequest, id: string): Org {
    const p = this.principal(request);
    if (p.kind === 'organization' && p.organizationId !== id) throw notFound();
    const org = this.organizations().find((o) => o.id === id);
    if (!org) throw notFound();
    return org;
  }

  createdBy(request: FastifyRequest): string {
    const p = this.principal(request);
    return p.kind === 'organization' ? `token:${p.tokenId}` : 'admin';
  }

  async pageContext(request: FastifyRequest, org: Org | null): Promise<PageContext> {
    const s = this.session(request);
    return {
      principal: s.principal,
      csrf: s.csrf,
      org,
      orgs: this.visibleOrgs(s.principal),
      assets: this.assetUrls,
      held: org ? await heldRunCount(this.deps.em(), org.id) : 0,
    };
  }

  async render(request: FastifyRequest, reply: FastifyReply, org: Org | null, opts: { title: string; section: Section; body: HtmlValue; status?: number; notice?: Notice | null }): Promise<FastifyReply> {
    const ctx = await this.pageContext(request, org);
    const notice = opts.notice === undefined ? noticeFromQuery(request.query) : opts.notice;
    return reply.code(opts.status ?? 200).type('text/html; charset=utf-8').send(layout(ctx, { ...opts, notice }));
  }
}

/** What a CSRF token is bound to: the session (by a hash of its id), or nobody yet (the sign-in form). */
export function csrfUserInfo(s: Session | null): string {
  return s ? createHash('sha256').update(s.id).digest('base64url') : 'signed-out';
}

/** After a POST: back to a page, with a notice or error code from the fixed list below. */
export function seeOther(reply: FastifyReply, to: string, msg?: { notice?: string; error?: string }): FastifyReply {
  let url = to;
  if (msg?.notice || msg?.error) {
    const u = new URL(to, 'http://x');
    if (msg.notice) u.searchParams.set('notice', msg.notice);
    if (msg.error) u.searchParams.set('error', msg.error);
    url = u.pathname + u.search;
  }
  return reply.code(303).header('location', url).send();
}

const NOTICES: Record<string, string> = {
  sync_queued: 'Sync queued: the run starts as soon as a worker takes it.',
  dry_run_queued: 'Dry run queued: it writes nothing and shows what a sync would change.',
  run_approved: 'Approved: the held deactivations were applied.',
  run_rejected: 'Rejected: nobody was deactivated, and the connector syncs again.',
  person_synced: 'Synced: this person was looked up at the HR system and brought up to date (nobody was invited).',
  rollout_created: 'Rollout created. Invitations go out at the time shown.',
  rollout_paused: 'Rollout paused: no more messages go out until you resume it.',
  rollout_resumed: 'Rollout resumed.',
  rollout_cancelled: 'Rollout cancelled: messages not yet sent will not be sent.',
  rule_created: 'Rule added, switched off. Check the preview below, then switch it on.',
  rule_enabled: 'Rule switched on: it invites the joiners it names at their moment.',
  rule_disabled: 'Rule switched off: it sends nothing more.',
  time_zone_saved: 'Time zone saved: the planned invitations and deactivations of its people follow it.',
};

const ERRORS: Record<string, string> = {
  connector_busy: 'That connector is syncing right now; try again when the run has finished.',
  connector_held: 'This connector is held: this run waits for your decision on its deactivations. Approve or reject it below; the connector syncs again after that.',
  connector_not_found: 'No such connector.',
  run_not_approvable: 'That run does not wait for approval (any more).',
  rollout_invalid_state: 'The rollout is not in a state that allows this (it may have changed meanwhile).',
  nothing_selected: 'Select at least one user, or choose all users matching the filter.',
  too_many: 'That selection is too large for one rollout (at most 200,000 users).',
  redis_unreachable: 'The queue (Redis) is not reachable right now; try again in a moment.',
  rule_invalid: 'That rule is not complete: give a name, the days before the start date (0–365) and a time of day.',
  rule_name_taken: 'A rule with this name exists already.',
  time_zone_invalid: 'That is not a time zone name (e.g. Europe/Berlin, America/New_York).',
  failed: 'That did not work; try again.',
};

export function noticeFromQuery(query: unknown): Notice | null {
  const q = (query ?? {}) as Record<string, unknown>;
  if (typeof q.error === 'string') return { kind: 'error', text: ERRORS[q.error] ?? ERRORS.failed };
  if (typeof q.notice === 'string' && NOTICES[q.notice]) return { kind: 'ok', text: NOTICES[q.notice] };
  return null;
}

export function errorCodeKnown(code: string): boolean {
  return code in ERRORS;
}

export function emptyState(text: HtmlValue): HtmlValue {
  return html`<div class="empty">${text}</div>`;
}

export { path };
