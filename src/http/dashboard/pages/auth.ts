import type { FastifyInstance } from 'fastify';
import { ICON_SVG } from '../assets/icon.js';
import { PageError, type Dashboard } from '../context.js';
import { asForm, field } from '../forms.js';
import { html, path, raw } from '../html.js';
import { barePage } from '../layout.js';
import { parseCookies, randomToken, safeEqual, serializeCookie, SESSION_COOKIE, SESSION_TTL_MS, SIGN_IN_COOKIE } from '../session.js';

/** Where to go after signing in: only a dashboard path of this site (no open redirect). */
export function safeNext(next: string | undefined): string | null {
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
  const secure = (request: { protocol: string }) => request.protocol === 'https';

  app.get('/dashboard/sign-in', { config: { dashboardPublic: true } }, async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const next = safeNext(q.next);
    if (await dash.load(request)) return reply.code(303).header('location', next ?? path([])).send();
    const nonce = parseCookies(request.headers.cookie)[SIGN_IN_COOKIE] || randomToken();
    reply.header('set-cookie', serializeCookie(SIGN_IN_COOKIE, nonce, { path: '/dashboard/sign-in', maxAgeSeconds: 3600, secure: secure(request) }));
    return reply.type('text/html; charset=utf-8').send(signInPage(dash, { nonce, next, error: q.expired ? 'Your session ended; sign in again.' : undefined }));
  });

  app.post('/dashboard/sign-in', { config: { dashboardPublic: true, rateLimit: { max: 30, timeWindow: '1 minute' } } }, async (request, reply) => {
    const form = asForm(request.body);
    const cookie = parseCookies(request.headers.cookie)[SIGN_IN_COOKIE];
    const given = field(form, '_csrf');
    // Login CSRF: the form's token must match the cookie set with the form (double submit).
    if (!cookie || !given || !safeEqual(cookie, given)) throw new PageError(403, 'Forbidden', 'The sign-in form expired or was not sent from this site. Reload the page and try again.');
    const next = safeNext(field(form, 'next'));
    const token = field(form, 'token') ?? '';
    const principal = await dash.deps.tokens.verify(token);
    if (!principal) {
      return reply.code(401).type('text/html; charset=utf-8').send(signInPage(dash, { nonce: cookie, next, error: 'That token is not valid, or it was revoked.' }));
    }
    if (principal.kind === 'organization' && !dash.organizations().some((o) => o.id === principal.organizationId)) {
      return reply.code(401).type('text/html; charset=utf-8').send(signInPage(dash, { nonce: cookie, next, error: 'That token belongs to an organization this service does not serve.' }));
    }
    const session = dash.codec.create(principal);
    reply.header('set-cookie', [
      serializeCookie(SESSION_COOKIE, dash.codec.encode(session), { path: '/dashboard', maxAgeSeconds: SESSION_TTL_MS / 1000, secure: secure(request) }),
      serializeCookie(SIGN_IN_COOKIE, '', { path: '/dashboard/sign-in', maxAgeSeconds: 0, secure: secure(request) }),
    ]);
    const home = principal.kind === 'admin' ? path([]) : path(['orgs', principal.organizationId, 'connectors']);
    return reply.code(303).header('location', next ?? home).send();
  });

  // Behind the session and its CSRF check, like every other POST.
  app.post('/dashboard/sign-out', async (request, reply) => {
    reply.header('set-cookie', serializeCookie(SESSION_COOKIE, '', { path: '/dashboard', maxAgeSeconds: 0, secure: secure(request) }));
    return reply.code(303).header('location', path(['sign-in'])).send();
  });
}
