import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { enableEndpoint, listDeliveries, listEndpoints } from '../../notifications/delivery-log.js';
import { scopeOf } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { emptyBody, idParams, organizationQuery, timestamp } from '../schemas.js';

export const deliveriesQuery = z
  .object({
    organizationId: z.string().min(1).max(63).optional(),
    endpointId: z.string().min(1).max(63).optional(),
    before: timestamp().optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
  })
  .strict();

/** The organization's outbound notifications: endpoints with their state, the delivery log, re-enabling a disabled endpoint. */
export function registerNotificationRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/api/notifications/endpoints', async (request) => {
    const { organizationId } = organizationQuery.parse(request.query);
    const org = scopeOf(request, organizationId, { required: true })!;
    return { data: (await listEndpoints(deps.em(), deps.config, org)).map((e) => ({ organizationId: org, ...e })) };
  });

  app.get('/api/notifications/deliveries', async (request) => {
    const q = deliveriesQuery.parse(request.query);
    const org = scopeOf(request, q.organizationId, { required: true })!;
    return { data: (await listDeliveries(deps.em(), org, q)).map((d) => ({ organizationId: org, ...d })) };
  });

  app.post('/api/notifications/endpoints/:id/enable', async (request) => {
    const { id } = idParams.parse(request.params);
    emptyBody.parse(request.body ?? {});
    const { organizationId } = organizationQuery.parse(request.query);
    const org = scopeOf(request, organizationId, { required: true })!;
    await enableEndpoint(deps.em(), deps.config, org, id);
    return { data: (await listEndpoints(deps.em(), deps.config, org)).find((e) => e.id === id) };
  });
}
