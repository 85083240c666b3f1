import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { registerAuth } from './auth.js';
import { registerBullBoard } from './bull-board.js';
import { registerDashboard } from './dashboard/index.js';
import { DEFAULT_BODY_LIMIT, type HttpDeps } from './deps.js';
import { errorHandler } from './errors.js';
import { createMetrics } from './metrics.js';
import { registerConnectorRoutes } from './routes/connectors.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerInvitationRoutes } from './routes/invitations.js';
import { registerOpenApi } from './routes/openapi.js';
import { registerRolloutRoutes } from './routes/rollouts.js';
import { registerRuleRoutes } from './routes/rules.js';
import { registerUserRoutes } from './routes/users.js';

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

  registerAuth(app, deps.tokens);

  await app.register(rateLimit, { global: false });
  registerHealthRoutes(app, deps.readiness, metrics);
  registerUserRoutes(app, deps);
  registerRolloutRoutes(app, deps);
  registerInvitationRoutes(app, deps);
  registerConnectorRoutes(app, deps);
  if (deps.rules) registerRuleRoutes(app, { ...deps, rules: deps.rules });
  registerOpenApi(app);
  await registerBullBoard(app, deps);
  await registerDashboard(app, deps);
  return app;
}
