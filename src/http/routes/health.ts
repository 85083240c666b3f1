import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../metrics.js';

/** Liveness, readiness (PostgreSQL and Redis reachable) and Prometheus metrics. */
export function registerHealthRoutes(app: FastifyInstance, readiness: () => Promise<Record<string, string>>, metrics: Metrics): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks = await readiness();
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.render();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
