import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorMessage, isAppError } from '../../lib/errors.js';
import type { HttpDeps } from '../deps.js';
import { httpStatus } from '../errors.js';
import { Dashboard, PageError } from './context.js';
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
import { safeEqual } from './session.js';

export { Dashboard } from './context.js';

/** Route flags: public routes need no session; JSON routes answer errors in JSON. */
interface DashboardRouteConfig {
  dashboardPublic?: boolean;
  dashboardJson?: boolean;
}

const routeConfig = (request: FastifyRequest) => (request.routeOptions.config ?? {}) as DashboardRouteConfig;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The admin dashboard under /dashboard: server-rendered HTML over the same services and
 * the same tenant rules as the JSON API. Signed in with an organization or admin token
 * (a signed, HttpOnly session cookie); every POST carries the session's CSRF token.
 */
export async function registerDashboard(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  const dash = new Dashboard(deps);

  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
      done(null, parseForm(typeof body === 'string' ? body : body.toString('utf8')));
    });

    scope.addHook('onRequest', async (request, reply) => {
      reply.header('content-security-policy', CSP);
      reply.header('x-frame-options', 'DENY');
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'same-origin');
      reply.header('cross-origin-opener-policy', 'same-origin');
      reply.header('cache-control', 'no-store');
      const cfg = routeConfig(request);
      if (cfg.dashboardPublic) return;
      if (await dash.load(request)) return;
      // Not signed in (or the session expired, or its token was revoked).
      if (cfg.dashboardJson) return reply.code(401).send({ error: { code: 'unauthorized', message: 'sign in to the dashboard' } });
      const next = request.method === 'GET' ? request.url : undefined;
      return reply.code(303).header('location', path(['sign-in'], { next })).send();
    });

    // Every POST of a signed-in user carries the session's CSRF token in a hidden field.
    scope.addHook('preHandler', async (request) => {
      if (request.method !== 'POST' || routeConfig(request).dashboardPublic) return;
      const given = field(asForm(request.body), '_csrf');
      if (!given || !safeEqual(given, dash.session(request).csrf)) {
        throw new PageError(403, 'Forbidden', 'This form expired or was not sent from the dashboard. Go back, reload the page and try again.');
      }
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
      } else if (e?.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
        status = e.statusCode;
        title = status === 413 ? 'Too large' : status === 429 ? 'Too many requests' : 'Bad request';
        message = status === 429 ? 'Too many attempts; wait a minute and try again.' : (e.message ?? 'bad request');
      } else {
        deps.log.error({ err: errorMessage(e), url: request.routeOptions.url }, 'dashboard request failed');
      }
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
