import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { HttpSettings } from '../config/http-settings.js';
import { AppError } from '../lib/errors.js';
import { bearer } from './auth.js';
import type { AuthLimiter } from './auth-limiter.js';
import type { Metrics } from './metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * /metrics is not open to the world. Either on a port of its own (METRICS_PORT, meant to stay
 * inside the cluster: open there, and absent from the API port), or on the API port behind a
 * bearer token (METRICS_TOKEN, else the admin token). Wrong tokens count against the client.
 */
export function registerMetricsEndpoint(app: FastifyInstance, metrics: Metrics, opts: { http: HttpSettings; adminToken: string | null; host: string; limiter: AuthLimiter }): void {
  app.addHook('onReady', async () => metrics.start(opts.http.metricsRefreshMs));
  app.addHook('onClose', async () => metrics.stop());

  if (opts.http.metricsPort) {
    const internal = Fastify({ logger: false });
    internal.get('/metrics', async (_req, reply) => sendMetrics(metrics, reply));
    app.addHook('onListen', async () => {
      await internal.listen({ port: opts.http.metricsPort!, host: opts.host });
    });
    app.addHook('onClose', async () => {
      await internal.close();
    });
    return;
  }

  const allowed = [opts.http.metricsToken, opts.adminToken].filter((t): t is string => Boolean(t)).map(digest);
  app.get('/metrics', async (request, reply) => {
    const given = bearer(request);
    if (request.headers.authorization) await opts.limiter.check(request.ip);
    if (!given || !allowed.some((d) => timingSafeEqual(d, digest(given)))) {
      if (request.headers.authorization) await opts.limiter.fail(request.ip);
      throw new AppError('unauthorized', 'metrics need a bearer token (METRICS_TOKEN or the admin token), or METRICS_PORT for an internal port');
    }
    return sendMetrics(metrics, reply);
  });
}

async function sendMetrics(metrics: Metrics, reply: FastifyReply): Promise<FastifyReply> {
  return reply.header('content-type', metrics.registry.contentType).header('cache-control', 'no-store').send(await metrics.render());
}

/**
 * /metrics open, for a port of its own that only the cluster reaches (METRICS_PORT; the
 * workers' HEALTH_PORT): the figures refreshed on the timer while the app runs.
 */
export function registerOpenMetrics(app: FastifyInstance, metrics: Metrics, refreshMs = 30_000): void {
  app.addHook('onReady', async () => metrics.start(refreshMs));
  app.addHook('onClose', async () => metrics.stop());
  app.get('/metrics', async (_req, reply) => sendMetrics(metrics, reply));
}
