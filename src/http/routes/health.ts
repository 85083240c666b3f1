import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps.js';
import type { Metrics } from '../metrics.js';

export function registerHealthRoutes(app: FastifyInstance, deps: HttpDeps, metrics: Metrics): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks = await deps.readiness();
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.render();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });
}
