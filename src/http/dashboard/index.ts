import csrfProtection from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorMessage, isAppError } from '../../lib/errors.js';
import type { AuthLimiter } from '../auth-limiter.js';
import type { HttpDeps } from '../deps.js';
import { httpStatus, retryAfterOf } from '../errors.js';
import { csrfUserInfo, Dashboard, PageError } from './context.js';
import { asForm, field, parseForm } from './forms.js';
import { html, path } from './html.js';
import { barePage, layout, noticeBox } from './layout.js';
import { registerAuthRoutes } from './pages/auth.js';
import { registerConnectorPages } from './pages/connectors.js';
import { registerInvitePages } from './pages/invite.js';
import { registerOrganizationRoutes } from './pages/organizations.js';
import { registerRolloutPages } from './pages/rollouts.js';
import { registerRulePages } from './pages/rules.js';
import { registerRunPages } from './pages/runs.js';
import { registerUserPages } from './pages/users.js';
import { cookieSecret, CSRF_COOKIE, SESSION_COOKIE } from './session.js';

export { Dashboard } from './context.js';

/** Route flags: public routes need no session; JSON routes answer errors in JSON. */
interface DashboardRouteConfig {
  dashboardPublic?: boolean;
  dashboardJson?: boolean;
}

const routeConfig = (request: FastifyRequest) => (request.routeOptions.config ?? {}) as DashboardRouteConfig;

/**
 * The admin dashboard under /dashboard: server-rendered HTML over the same services and
 * the same tenant rules as the JSON API. Signed in with an organization or admin token
 (a server-side session: src/http/dashboard/session.ts); every POST carries a CSRF token
 * (@fastify/csrf-protection); forms are parsed by @fastify/formbody, cookies by @fastify/cookie,
 * and the security headers come from @fastify/helmet (src/http/security-headers.ts).
 */
export async function registerDashboard(app: FastifyInstance, deps: HttpDeps, authLimiter: AuthLimiter): Promise<void> {
  const dash = new Dashboard(deps, authLimiter);
  const secret = cookieSecret(deps.config.adminToken);

  await app.register(async (scope) => {
    // Form bodies as parseForm shapes them (every value a list; no __proto__, no NUL).
    await scope.register(formbody, { parser: (body: string) => parseForm(body) });
    await scope.register(csrfProtection, {
      sessionPlugin: '@fastify/cookie',
      cookieKey: CSRF_COOKIE,
      cookieOpts: { ...dash.cookieOptions(), signed: true },
      getToken: (request: FastifyRequest) => field(asForm(request.body), '_csrf'),
      getUserInfo: (request: FastifyRequest) => csrfUserInfo(dash.loaded(request)),
      csrfOpts: { hmacKey: secret },
    });

    scope.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.url === '/dashboard/assets/:file') return;
      reply.header('cache-control', 'no-store');
      const cfg = routeConfig(request);
      // A signed-in user's pages carry a CSRF token bound to the session.
      const signedIn = await dash.load(request);
      if (signedIn) signedIn.csrf = dash.csrfToken(request, reply);
      if (cfg.dashboardPublic || signedIn) return;
      // Not signed in (or the session expired, or its token was revoked).
      if (cfg.dashboardJson) return reply.code(401).send({ error: { code: 'unauthorized', message: 'sign in to the dashboard' } });
      // Back to where the admin was, filters and all: the page itself, or for a form the page it was on.
      const next = request.method === 'GET' ? request.url : sameOriginPath(request.headers.referer, request.headers.host);
      const expired = request.cookies?.[SESSION_COOKIE] ? 1 : undefined;
      return reply.code(303).header('location', path(['sign-in'], { next, expired })).send();
    });

    // Every POST — the sign-in form's too (login CSRF) — carries a CSRF token in a hidden field.
    scope.addHook('preHandler', (request, reply, done) => {
      if (request.method !== 'POST') return done();
      scope.csrfProtection(request, reply, done);
    });

    scope.setErrorHandler(async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
      let status = 500;
      let title = 'Something went wrong';
      let message = 'An unexpected error occurred. Try again in a moment.';
      const e = err as { name?: string; status?: number; title?: string; message?: string; statusCode?: number };
      if (err instanceof PageError || e?.name === 'PageError') {
        status = e.status!;
        title = e.title!;
        message = e.message!;
      } else if (isAppError(err)) {
        status = httpStatus(err.code);
        if (status < 500) {
          title = status === 404 ? 'Not found' : status === 409 ? 'Conflict' : 'Cannot do that';
          message = err.message;
        } else {
          deps.log.error({ code: err.code, err: err.message, url: request.routeOptions.url }, 'dashboard request failed');
        }
      } else if ((e as { code?: string })?.code === 'FST_CSRF_INVALID_TOKEN' || (e as { code?: string })?.code === 'FST_CSRF_MISSING_SECRET') {
        status = 403;
        title = 'Forbidden';
        message = 'This form expired or was not sent from the dashboard. Go back, reload the page and try again.';
      } else if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
        status = e.statusCode;
        title = status === 413 ? 'Too large' : status === 429 ? 'Too many requests' : 'Bad request';
        message = status === 429 ? 'Too many attempts; wait a minute and try again.' : (e.message ?? 'bad request');
      } else {
        deps.log.error({ err: errorMessage(e), url: request.routeOptions.url }, 'dashboard request failed');
      }
      const retryAfter = retryAfterOf(err);
      if (retryAfter !== null) reply.header('retry-after', String(retryAfter));
      if (routeConfig(request).dashboardJson) return reply.code(status).send({ error: { code: status === 404 ? 'not_found' : 'error', message } });
      const body = html`<div class="page-head"><div><h1>${title}</h1></div></div>${noticeBox({ kind: status >= 500 ? 'error' : 'warn', text: message })}<p><a href="${path([])}">Back to the dashboard</a></p>`;
      let session = null;
      try {
        session = dash.session(request);
      } catch {
        /* not signed in */
      }
      reply.code(status).type('text/html; charset=utf-8');
      if (!session) return reply.send(barePage(dash.assetUrls, title, html`<div class="auth-card">${body}</div>`));
      const ownOrg = session.principal.kind === 'organization' ? dash.organizations().find((o) => o.id === (session.principal as { organizationId: string }).organizationId) ?? null : null;
      const ctx = { principal: session.principal, csrf: session.csrf, org: ownOrg, orgs: dash.visibleOrgs(session.principal), assets: dash.assetUrls };
      return reply.send(layout(ctx, { title, section: 'orgs', body }));
    });

    // Assets: fingerprinted URLs, cached for good.
    scope.get('/dashboard/assets/:file', { config: { dashboardPublic: true } }, async (request, reply) => {
      const a = Object.values(dash.assets).find((x) => x.url === request.url.split('?')[0]);
      if (!a) throw new PageError(404, 'Not found', 'No such file.');
      reply.header('cache-control', 'public, max-age=31536000, immutable').header('etag', a.etag);
      if (request.headers['if-none-match'] === a.etag) return reply.code(304).send();
      return reply.type(a.type).send(a.body);
    });

    registerAuthRoutes(scope, dash);
    registerOrganizationRoutes(scope, dash);
    registerConnectorPages(scope, dash);
    registerRunPages(scope, dash);
    registerUserPages(scope, dash);
    registerInvitePages(scope, dash);
    registerRolloutPages(scope, dash);
    registerRulePages(scope, dash);

    scope.all('/dashboard/*', async () => {
      throw new PageError(404, 'Not found', 'There is no such page.');
    });
    // interfaces.md names /admin for the dashboard; Bull Board keeps /admin/queues.
    for (const url of ['/admin', '/admin/']) {
      scope.get(url, { config: { dashboardPublic: true } }, async (_request, reply) => reply.code(303).header('location', path([])).send());
    }
    if (!app.hasRoute({ method: 'GET', url: '/' })) {
      scope.get('/', { config: { dashboardPublic: true } }, async (_request, reply) => reply.code(303).header('location', path([])).send());
    }
  });
}

/** A Referer's path and query, when it is a dashboard page of this host (else nothing). */
function sameOriginPath(referer: string | undefined, host: string | undefined): string | undefined {
  if (!referer || !host) return undefined;
  try {
    const u = new URL(referer);
    return u.host === host && u.pathname.startsWith('/dashboard/') ? u.pathname + u.search : undefined;
  } catch {
    return undefined;
  }
}
