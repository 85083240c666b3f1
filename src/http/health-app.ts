import Fastify, { type FastifyInstance } from 'fastify';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { QueueHandles } from './deps.js';
import { createMetrics } from './metrics.js';
import { registerOpenMetrics } from './metrics-endpoint.js';
import { registerHealthRoutes } from './routes/health.js';

/**
 * /healthz, /readyz and /metrics alone, for the processes that serve no API (`start --role
 * worker|scheduler` with HEALTH_PORT set): what an orchestrator's probes and a metrics
 * scraper need, nothing a caller could act on.
 */
export async function buildHealthApp(deps: { em(): EntityManager; queues: QueueHandles; readiness(): Promise<Record<string, string>> }): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  registerHealthRoutes(app, deps.readiness);
  registerOpenMetrics(app, createMetrics(deps));
  return app;
}
