import helmet from '@fastify/helmet';
import type { FastifyInstance, RouteOptions } from 'fastify';

/**
 * Security headers on every response (@fastify/helmet): a strict CSP with
 * `frame-ancestors 'none'` (and X-Frame-Options DENY for older browsers), nosniff, a
 * same-origin referrer and opener policy; HSTS only when the service is reached over https.
 * The dashboard loads only its own files; Bull Board gets a policy of its own (below).
 */
const BASE = {
  'default-src': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'object-src': ["'none'"],
};

export const DASHBOARD_CSP = { ...BASE, 'script-src': ["'self'"], 'style-src': ["'self'"], 'base-uri': ["'none'"] };

/**
 * Bull Board's page sets `<base href>` and inline styles (its scripts are files); it loads no
 * font from elsewhere here (the Google font falls back to the system's).
 */
export const BULL_BOARD_CSP = { ...BASE, 'script-src': ["'self'"], 'style-src': ["'self'", "'unsafe-inline'"], 'font-src': ["'self'", 'data:'], 'base-uri': ["'self'"] };

export async function registerSecurityHeaders(app: FastifyInstance, opts: { https: boolean }): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: DASHBOARD_CSP },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'same-origin' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    strictTransportSecurity: opts.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
}

/** For the routes a scope adds (Bull Board's): its own CSP, every other header as everywhere. */
export function useCsp(scope: FastifyInstance, directives: Record<string, string[]>): void {
  scope.addHook('onRoute', (route: RouteOptions) => {
    route.config = { ...(route.config as object), helmet: { contentSecurityPolicy: { useDefaults: false, directives } } } as RouteOptions['config'];
  });
}
