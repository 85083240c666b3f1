import type { FastifyInstance } from 'fastify';
import { ICON_SVG } from '../assets/icon.js';
import { PageError, type Dashboard } from '../context.js';
import { asForm, field } from '../forms.js';
import { html, path, raw } from '../html.js';
import { barePage } from '../layout.js';
import { SESSION_COOKIE, sessionTtlMs } from '../session.js';

/**
 * Where to go after signing in: only a dashboard path of this site (no open redirect). A path
 * the dashboard made is percent-encoded ASCII; any other character cannot go into a Location
 * header: a 400, not a 500.
 */
export function safeNext(next: string | undefined): string | null {
  if (next && /[^\x20-\x7e]/.test(next)) throw new PageError(400, 'Bad request', 'The address to return to after signing in is not a valid dashboard address.');
  if (!next || next.length > 2000) return null;
  if (!/^\/dashboard(\/|$|\?)/.test(next) || next.includes('//') || next.includes('\\') || /[\u0000-\u001f]/.test(next)) return null;
  if (next.startsWith('/dashboard/sign-')) return null;
  return next;
}

function signInPage(dash: Dashboard, opts: { nonce: string; next: string | null; error?: string }): string {
  return barePage(dash.assetUrls, 'Sign in', html`
<div class="auth-card">
  <div class="brand">${raw(ICON_SVG)}<span>hrsync</span></div>
  <h1>Sign in</h1>
  <p class="muted">Use your organization's API token, or the admin token for every organization.</p>
  ${opts.error ? html`<div class="notice notice-error" role="alert" id="sign-in-error">${opts.error}</div>` : ''}
  <form method="post" action="${path(['sign-in'])}" class="form-grid">
    <input type="hidden" name="_csrf" value="${opts.nonce}">
    ${opts.next ? html`<input type="hidden" name="next" value="${opts.next}">` : ''}
    <div class="field">
      <label for="token">Token</label>
      <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required maxlength="200"
        ${opts.error ? raw('aria-invalid="true" aria-describedby="sign-in-error"') : ''} autofocus>
      <span class="hint">Create one with <code>hrsync tokens create --org &lt;id&gt;</code>. It is checked, never stored in your browser.</span>
    </div>
    <button class="btn btn-primary" type="submit">Sign in</button>
  </form>
</div>`);
}

export function registerAuthRoutes(app: FastifyInstance, dash: Dashboard): void {
  app.get('/dashboard/sign-in', { config: { dashboardPublic: true } }, async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const next = safeNext(q.next);
    if (await dash.load(request)) return reply.code(303).header('location', next ?? path([])).send();
    // Login CSRF: the form carries a token of the CSRF secret's cookie (@fastify/csrf-protection), checked on POST.
    return reply.type('text/html; charset=utf-8').send(signInPage(dash, { nonce: dash.csrfToken(request, reply), next, error: q.expired ? 'Your session ended; sign in again.' : undefined }));
  });

  // The form's CSRF token is checked by the dashboard's preHandler; a wrong token counts against the client (AuthLimiter).
  app.post('/dashboard/sign-in', { config: { dashboardPublic: true } }, async (request, reply) => {
    const form = asForm(request.body);
    const next = safeNext(field(form, 'next'));
    const token = field(form, 'token') ?? '';
    const failed = (error: string) => reply.code(401).type('text/html; charset=utf-8').send(signInPage(dash, { nonce: dash.csrfToken(request, reply), next, error }));
    await dash.authLimiter.check(request.ip);
    const principal = await dash.deps.tokens.verify(token);
    if (!principal) {
      await dash.authLimiter.fail(request.ip);
      return failed('That token is not valid, or it was revoked.');
    }
    if (principal.kind === 'organization' && !dash.organizations().some((o) => o.id === principal.organizationId)) {
      return failed('That token belongs to an organization this service does not serve.');
    }
    // A new id at sign-in (no session fixation); the old session, if any, ends.
    const old = dash.loaded(request);
    if (old) await dash.sessionStore.revoke(old.id);
    const session = await dash.sessionStore.create(principal);
    reply.setCookie(SESSION_COOKIE, session.id, dash.cookieOptions(Math.floor(sessionTtlMs(principal) / 1000)));
    const home = principal.kind === 'admin' ? path([]) : path(['orgs', principal.organizationId, 'connectors']);
    return reply.code(303).header('location', next ?? home).send();
  });

  // Behind the session and its CSRF check, like every other POST. The session ends in the store: the old cookie is refused from now on.
  app.post('/dashboard/sign-out', async (request, reply) => {
    await dash.sessionStore.revoke(dash.session(request).id);
    reply.clearCookie(SESSION_COOKIE, dash.cookieOptions());
    return reply.code(303).header('location', path(['sign-in'])).send();
  });
}
