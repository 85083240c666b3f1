import type { EntityManager } from '@mikro-orm/postgresql';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { Queues } from '../../jobs/queues.js';
import type { Principal, TokenVerifier } from '../auth/tokens.js';
import type { AppConfig } from '../config/load.js';
import type { RolloutService } from '../invitations/rollout-service.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import { registerBullBoard } from './bull-board.js';
import { registerDashboard } from './dashboard/index.js';
import { errorHandler } from './errors.js';
import { createMetrics, type Metrics } from './metrics.js';
import { registerConnectorRoutes } from './routes/connectors.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInvitationRoutes } from './routes/invitations.js';
import { registerOpenApi } from './routes/openapi.js';
import { registerRolloutRoutes } from './routes/rollouts.js';
import { pushRoutes } from './routes/scim.js';
import { registerUserRoutes } from './routes/users.js';

export interface HttpDeps {
  config: AppConfig;
  log: Logger;
  em(): EntityManager;
  sync: SyncEngine;
  rollouts: RolloutService;
  queues: Queues;
  tokens: TokenVerifier;
  /** PostgreSQL and Redis reachable? */
  readiness(): Promise<Record<string, string>>;
  metrics?: Metrics;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

export const DEFAULT_BODY_LIMIT = 256 * 1024;
export const BULK_BODY_LIMIT = 16 * 1024 * 1024;

export function bearer(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (!h) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m ? m[1] : null;
}

/**
 * The organization a request acts on. An organization token acts on its own organization
 * only; the admin token names one with `organizationId` (or, for lists, none: all).
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

/** The HTTP app, built apart from listen() so tests can inject() requests. */
export async function buildApp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // request.log (errors.ts: 5xx) writes through the process's logger, with its redaction;
    // no per-request lines (ids and timings are in the metrics)
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    trustProxy: process.env.TRUST_PROXY === 'true',
    ajv: { customOptions: { removeAdditional: false } },
    // the router's own errors (a malformed percent-encoding, an over-long path parameter) in the same shape as all others
    frameworkErrors: (err, request, reply) => errorHandler(err, request, reply),
  });
  const metrics = deps.metrics ?? createMetrics(deps);
  app.decorateRequest('principal', null);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((_req, reply) => void reply.code(404).send({ error: { code: 'not_found', message: 'no such route' } }));

  // JSON bodies: a body that cannot be parsed (invalid, or nested past the parser's stack) is a 400;
  // so is one that is not an object (every route takes an object), or a string with a NUL
  // character (PostgreSQL cannot store it: it would fail as a 500 further in).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    const badRequest = (message: string) => Object.assign(new Error(message), { statusCode: 400 });
    let nul = false;
    let value: unknown;
    try {
      value = JSON.parse(text, (k, v) => {
        if (typeof v === 'string' && v.includes('\u0000')) nul = true;
        return k === '__proto__' ? undefined : v;
      });
    } catch (err) {
      return done(badRequest(`invalid JSON body: ${(err as Error).message.slice(0, 120)}`), undefined);
    }
    if (nul) return done(badRequest('invalid JSON body: text may not contain the NUL character (\\u0000)'), undefined);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return done(badRequest('invalid JSON body: expected an object'), undefined);
    done(null, value);
  });

  app.addHook('onRequest', async (request) => {
    (request as FastifyRequest & { startedAt: bigint }).startedAt = process.hrtime.bigint();
  });
  app.addHook('onResponse', async (request, reply) => {
    const started = (request as FastifyRequest & { startedAt?: bigint }).startedAt;
    if (started) metrics.observeHttp(request.routeOptions.url ?? 'unknown', request.method, reply.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
  });

  // Every /api route needs a bearer token, except accepting an invitation. Checked on the
  // matched route (the raw URL may be percent-encoded: /%61pi/users is /api/users), and
  // before the body is read: an unknown caller gets a 401, not a parsed 16 MB body.
  app.addHook('onRequest', async (request) => {
    if (request.url.includes('%00')) throw new AppError('validation_failed', 'the URL may not contain a NUL character (%00)');
    const url = request.routeOptions.url ?? request.url.split('?')[0];
    if (!url.startsWith('/api/') || url === '/api/invitations/accept' || url === '/api/openapi.json') return;
    const principal = await deps.tokens.verify(bearer(request));
    if (!principal) throw new AppError('unauthorized', 'missing, invalid or revoked bearer token');
    request.principal = principal;
  });

  await app.register(rateLimit, { global: false });
  registerHealthRoutes(app, deps, metrics);
  registerUserRoutes(app, deps);
  registerRolloutRoutes(app, deps);
  registerInvitationRoutes(app, deps);
  registerConnectorRoutes(app, deps);
  registerOpenApi(app);
  await app.register(pushRoutes, { deps }); // SCIM 2.0 (/scim/v2) and vendor webhooks (/hooks), issue 18
  await registerBullBoard(app, deps);
  await registerDashboard(app, deps);
  return app;
}
