import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import { Redis } from 'ioredis';
import { registerAuth } from './auth.js';
import { AuthLimiter } from './auth-limiter.js';
import { registerBulkLimits } from './bulk-limit.js';
import { registerBullBoard } from './bull-board.js';
import { registerDashboard } from './dashboard/index.js';
import { cookieSecret } from './dashboard/session.js';
import { DEFAULT_BODY_LIMIT, type HttpDeps } from './deps.js';
import { errorHandler } from './errors.js';
import { createMetrics } from './metrics.js';
import { registerMetricsEndpoint } from './metrics-endpoint.js';
import { registerSecurityHeaders } from './security-headers.js';
import { registerConnectorRoutes } from './routes/connectors.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerHistoryRoutes } from './routes/history.js';
import { registerNotificationRoutes } from './routes/notifications.js';
import { registerInvitationRoutes } from './routes/invitations.js';
import { registerOpenApi } from './routes/openapi.js';
import { registerRolloutRoutes } from './routes/rollouts.js';
import { registerRuleRoutes } from './routes/rules.js';
import { pushRoutes } from './routes/scim.js';
import { registerUserRoutes } from './routes/users.js';

/** The HTTP app, built apart from listen() so tests can inject() requests. */
export async function buildApp(deps: HttpDeps): Promise<FastifyInstance> {
  const { http } = deps.config;
  // A hop count trusts the n nearest addresses (the socket's, then X-Forwarded-For from the right).
  // fastify itself now reads a number as "trust nothing" (a direct client could claim hops), so the
  // count is a function here: only for a port that no client reaches but through the proxies.
  const tp = http.trustProxy;
  const trustProxy = typeof tp === 'number' ? (_addr: string, i: number) => i < tp : Array.isArray(tp) ? [...tp] : (tp as boolean);
  const app = Fastify({
    // request.log (errors.ts: 5xx) writes through the process's logger, with its redaction;
    // no per-request lines (ids and timings are in the metrics)
    loggerInstance: deps.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    // request.ip (the auth limiter's key) and request.protocol follow TRUST_PROXY: a hop count or
    // the proxies' addresses, so a forged X-Forwarded-For from the client is not believed.
    trustProxy,
    ajv: { customOptions: { removeAdditional: false } },
    // the router's own errors (a malformed percent-encoding, an over-long path parameter) in the same shape as all others
    frameworkErrors: (err, request, reply) => errorHandler(err, request, reply),
  });
  const metrics = deps.metrics ?? createMetrics(deps);
  // Limiter counts live in Redis (shared by the replicas); this connection fails fast rather than queueing.
  const redis = new Redis(deps.config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectionName: 'hrsync-http-limits' });
  redis.on('error', () => {});
  app.addHook('onReady', async () => {
    // The limits count in Redis from the first request (until it answers, an in-process count stands in).
    if (redis.status !== 'ready') await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 3_000);
      redis.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
    });
  });
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  const authLimiter = new AuthLimiter(redis, `${deps.config.queuePrefix}:auth-fail`, http.authFailLimit, http.authFailWindowSeconds);
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

  await registerSecurityHeaders(app, { https: http.cookieSecure });
  // Personal data in API answers is never kept by a browser or a shared cache.
  app.addHook('onSend', async (request, reply) => {
    if ((request.routeOptions.url ?? request.url).startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  });
  await app.register(cookie, { secret: cookieSecret(deps.config.adminToken) });

  registerAuth(app, deps.tokens, authLimiter);
  registerBulkLimits(app, redis, { keyPrefix: `${deps.config.queuePrefix}:bulk`, perMinute: http.bulkPerMinute, concurrency: http.bulkConcurrency, concurrencyTotal: http.bulkConcurrencyTotal });

  await app.register(rateLimit, { global: false });
  registerHealthRoutes(app, deps.readiness);
  registerMetricsEndpoint(app, metrics, { http, adminToken: deps.config.adminToken, host: process.env.HOST ?? '127.0.0.1', limiter: authLimiter });
  registerUserRoutes(app, deps);
  registerRolloutRoutes(app, deps);
  registerInvitationRoutes(app, deps);
  registerConnectorRoutes(app, deps);
  if (deps.rules) registerRuleRoutes(app, { ...deps, rules: deps.rules });
  registerHistoryRoutes(app, deps);
  registerNotificationRoutes(app, deps);
  registerOpenApi(app);
  await app.register(pushRoutes, { deps, limiter: authLimiter }); // SCIM 2.0 (/scim/v2) and vendor webhooks (/hooks), issue 18
  await registerBullBoard(app, deps, authLimiter);
  await registerDashboard(app, deps, authLimiter);
  return app;
}
