import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { isUuid } from '../../domain/uuid.js';
import { exportStream } from '../../history/history-export.js';
import { userHistory } from '../../history/user-history.js';
import { AppError } from '../../lib/errors.js';
import { scopeOf } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { idParams, timestamp } from '../schemas.js';

export const historyQuery = z
  .object({
    organizationId: z.string().min(1).max(63).optional(),
    cursor: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    order: z.enum(['asc', 'desc']).optional(),
  })
  .strict();

export const exportQuery = z
  .object({
    organizationId: z.string().min(1).max(63).optional(),
    from: timestamp(),
    to: timestamp(),
    format: z.enum(['csv', 'json']).default('csv'),
  })
  .strict()
  .refine((q) => new Date(q.from) < new Date(q.to), { message: 'from must be before to' });

/** Per-person history (user_events): a user's timeline, and an organization's events as a streamed export. */
export function registerHistoryRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/api/users/:id/history', async (request) => {
    const { id } = idParams.parse(request.params);
    const q = historyQuery.parse(request.query);
    if (!isUuid(id)) throw new AppError('user_not_found', `no user ${id}`);
    return userHistory(deps.em(), id, scopeOf(request, q.organizationId) ?? null, q);
  });

  // Streams: keyset pages are read as the client takes the body, never the whole range at once.
  app.get('/api/history/export', async (request, reply) => {
    const q = exportQuery.parse(request.query);
    const org = scopeOf(request, q.organizationId, { required: true })!;
    if (!deps.config.organizations.some((o) => o.id === org)) throw new AppError('organization_not_found', `no organization ${org}`);
    const stamp = `${q.from.slice(0, 10)}_${q.to.slice(0, 10)}`;
    return reply
      .type(q.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="history-${org}-${stamp}.${q.format}"`)
      .send(exportStream(deps.em(), org, new Date(q.from), new Date(q.to), q.format));
  });
}
