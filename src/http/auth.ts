import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal, TokenVerifier } from '../auth/tokens.js';
import { AppError } from '../lib/errors.js';
import type { AuthLimiter } from './auth-limiter.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling: set by the bearer-token hook on /api routes, null elsewhere. */
    principal: Principal | null;
  }
}

/** Routes open without a token: accepting an invitation (the link is the credential) and the API description. */
const OPEN_API_ROUTES = new Set(['/api/invitations/accept', '/api/openapi.json']);

export function bearer(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : null;
}

/**
 * Decorates every request with its `principal` and requires a valid bearer token on every
 * /api route but the open ones. Checked on the matched route (the raw URL may be
 * percent-encoded: /%61pi/users is /api/users), and before the body is read: an unknown
 * caller gets a 401, not a parsed 16 MB body. Registered on the root instance, not as an
 * encapsulated plugin, so the hook covers every route. A wrong token counts against the client
 * (AuthLimiter): past the limit, every attempt from it gets a 429 with Retry-After.
 */
export function registerAuth(app: FastifyInstance, tokens: TokenVerifier, limiter: AuthLimiter): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    if (request.url.includes('%00')) throw new AppError('validation_failed', 'the URL may not contain a NUL character (%00)');
    const url = request.routeOptions.url ?? request.url.split('?')[0];
    if (!url.startsWith('/api/') || OPEN_API_ROUTES.has(url)) return;
    const presented = Boolean(request.headers.authorization);
    if (presented) await limiter.check(request.ip);
    const principal = await tokens.verify(bearer(request));
    if (!principal) {
      if (presented) await limiter.fail(request.ip);
      throw new AppError('unauthorized', 'missing, invalid or revoked bearer token');
    }
    request.principal = principal;
  });
}

/**
 * The organization a request acts on (tenancy). An organization token acts on its own
 * organization only; the admin token names one with `organizationId` (or, for lists, none: all).
 */
export function scopeOf(request: FastifyRequest, requested?: string | null, opts: { required?: boolean } = {}): string | undefined {
  const p = request.principal;
  if (!p) throw new AppError('unauthorized', 'missing or invalid bearer token');
  if (p.kind === 'organization') {
    if (requested && requested !== p.organizationId) throw new AppError('not_found', 'not found');
    return p.organizationId;
  }
  if (!requested && opts.required) throw new AppError('validation_failed', 'organizationId: required with the admin token');
  return requested ?? undefined;
}
