import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearer } from './auth.js';
import type { AuthLimiter } from './auth-limiter.js';
import type { HttpDeps } from './deps.js';
import { retryAfterOf } from './errors.js';
import { BULL_BOARD_CSP, useCsp } from './security-headers.js';

export const QUEUES_PATH = '/admin/queues';

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
 * Bull Board on the sync, rollout and invitation queues, for the admin token only: no open UI.
 * Its responses carry the security headers (a CSP of its own, frame-ancestors 'none',
 * X-Frame-Options DENY: it cannot be framed); a wrong token counts against the client.
 */
export async function registerBullBoard(app: FastifyInstance, deps: HttpDeps, limiter: AuthLimiter): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUES_PATH);
  createBullBoard({
    queues: [deps.queues.sync, deps.queues.rollouts, deps.queues.invitations].map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'hrsync queues' } },
  });
  await app.register(async (scope) => {
    useCsp(scope, BULL_BOARD_CSP);
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
    await scope.register(serverAdapter.registerPlugin() as never, { prefix: QUEUES_PATH });
  });
}
