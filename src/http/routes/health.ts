import type { FastifyInstance } from 'fastify';

/** Liveness and readiness (PostgreSQL and Redis reachable), open: no data in them. /metrics is src/http/metrics-endpoint.ts. */
export function registerHealthRoutes(app: FastifyInstance, readiness: () => Promise<Record<string, string>>): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const checks = await readiness();
    const ok = Object.values(checks).every((v) => v === 'ok');
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
  });
}
