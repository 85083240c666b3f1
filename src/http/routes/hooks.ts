import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../app.js';

/** Vendor webhooks: POST /hooks/<connectorId>, authenticated by the vendor's signature. */
export async function hookRoutes(_app: FastifyInstance, _opts: { deps: HttpDeps }): Promise<void> {}
