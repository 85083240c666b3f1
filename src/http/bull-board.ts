import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearer } from './auth.js';
import type { AuthLimiter } from './auth-limiter.js';
import type { HttpDeps } from './deps.js';
import { retryAfterOf } from './errors.js';
import { SESSION_COOKIE, SessionStore } from './dashboard/session.js';
import { BULL_BOARD_CSP, useCsp } from './security-headers.js';

export const QUEUES_PATH = '/admin/queues';
/** Bull Board behind the dashboard's admin session. */
export const DASHBOARD_QUEUES_PATH = '/dashboard/queues';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * The admin token from `Authorization: Bearer …` or HTTP Basic (any user name, the token
 * as password — what a browser's login prompt sends).
 */
export function adminCredential(request: FastifyRequest): string | null {
  const b = bearer(request);
  if (b) return b;
  const h = request.headers.authorization;
  const m = h ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h) : null;
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : null;
}

export function isAdmin(request: FastifyRequest, adminToken: string | null): boolean {
  const given = adminCredential(request);
  if (!adminToken || !given) return false;
  return timingSafeEqual(digest(given), digest(adminToken));
}

/**
 * Bull Board on the sync, rollout and invitation queues, for the admin only: no open UI.
 * Twice: at /admin/queues for the admin token (Bearer, or Basic with the token as password),
 * and at /dashboard/queues for a dashboard session signed in with the admin token (the
 * session's cookie is the dashboard's: no second password prompt; not signed in → the
 * sign-in page, and back). Both link back to the dashboard. Their responses carry the
 * security headers (a CSP of its own, frame-ancestors 'none', X-Frame-Options DENY: they
 * cannot be framed); a wrong token counts against the client.
 */
export async function registerBullBoard(app: FastifyInstance, deps: HttpDeps, limiter: AuthLimiter): Promise<void> {
  const sessions = new SessionStore(deps.em, deps.config.adminToken);
  for (const basePath of [QUEUES_PATH, DASHBOARD_QUEUES_PATH]) {
    const serverAdapter = new FastifyAdapter();
    serverAdapter.setBasePath(basePath);
    createBullBoard({
      queues: [deps.queues.sync, deps.queues.rollouts, deps.queues.invitations].map((q) => new BullMQAdapter(q)),
      serverAdapter,
      options: { uiConfig: { boardTitle: 'hrsync queues', miscLinks: [{ text: '← Back to the dashboard', url: '/dashboard' }] } },
    });
    await app.register(async (scope) => {
      useCsp(scope, BULL_BOARD_CSP);
      if (basePath === DASHBOARD_QUEUES_PATH) {
        scope.addHook('onRequest', async (request, reply) => {
          reply.header('cache-control', 'no-store');
          // Its actions (retry, clean, …) are Bull Board's own XHRs without a CSRF token: only
          // from this origin (a browser sends Origin on every POST/PUT/DELETE; SameSite=Lax does the rest).
          if (request.method !== 'GET' && request.method !== 'HEAD' && !sameOrigin(request)) {
            return reply.code(403).send({ error: { code: 'forbidden', message: 'cross-origin request refused' } });
          }
          const session = await sessions.load(request.cookies?.[SESSION_COOKIE]);
          if (session?.principal.kind === 'admin') return;
          if (session) return reply.code(404).send({ error: { code: 'not_found', message: 'not found' } });
          const next = request.method === 'GET' && !request.url.includes('/api/') ? DASHBOARD_QUEUES_PATH : undefined;
          return reply.code(request.url.includes('/api/') ? 401 : 303).header('location', `/dashboard/sign-in${next ? `?next=${encodeURIComponent(next)}` : ''}`).send();
        });
      } else {
        // Answers here rather than throwing: Bull Board's routes have an error handler of their own (a 500 for anything).
        scope.addHook('onRequest', async (request, reply) => {
          const presented = Boolean(request.headers.authorization);
          try {
            if (presented) await limiter.check(request.ip);
            if (!isAdmin(request, deps.config.adminToken) && presented) await limiter.fail(request.ip);
          } catch (err) {
            const retryAfter = retryAfterOf(err);
            if (retryAfter === null) throw err;
            return reply.code(429).header('retry-after', String(retryAfter)).send({ error: { code: 'rate_limited', message: (err as Error).message } });
          }
          if (!isAdmin(request, deps.config.adminToken)) {
            await reply
              .code(401)
              .header('www-authenticate', 'Basic realm="hrsync admin", charset="UTF-8"')
              .send({ error: { code: 'unauthorized', message: 'the admin token is required (Bearer, or Basic with the token as password)' } });
          }
        });
      }
      await scope.register(serverAdapter.registerPlugin() as never, { prefix: basePath });
    });
  }
}

/** The request's Origin is this host (Bull Board's actions from its own page). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin || !request.headers.host) return false;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}
