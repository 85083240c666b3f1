import type { FastifyInstance } from 'fastify';
import { checkIdempotencyKey, idempotent } from '../../db/idempotency-keys.js';
import { AppError } from '../../lib/errors.js';
import { scopeOf } from '../auth.js';
import { BULK_BODY_LIMIT, type HttpDeps } from '../deps.js';
import { createRolloutBody, emptyBody, idParams, listRolloutsQuery, organizationQuery } from '../schemas.js';

export function registerRolloutRoutes(app: FastifyInstance, deps: HttpDeps): void {
  // Bulk triggers name up to 200,000 users by id: a larger body limit here only.
  // With an `Idempotency-Key` header: the same key and body again (a client's retry, a double
  // click) get the first request's response and create nothing; another body is a 409.
  app.post('/api/rollouts', { bodyLimit: BULK_BODY_LIMIT }, async (request, reply) => {
    const body = createRolloutBody.parse(request.body ?? {});
    const organizationId = scopeOf(request, body.organizationId, { required: true })!;
    const { organizationId: _o, ...input } = body;
    const createdBy = request.principal?.kind === 'organization' ? `token:${request.principal.tokenId}` : 'admin';
    const key = checkIdempotencyKey(request.headers['idempotency-key']);
    if (!key) return reply.code(202).send(await deps.rollouts.create(organizationId, input, { createdBy }));
    let afterCommit: (() => Promise<void>) | null = null;
    const r = await idempotent(deps.em(), { organizationId, scope: 'POST /api/rollouts', key, body: request.body }, async (tx) => {
      const created = await deps.rollouts.createIn(tx, organizationId, input, { createdBy });
      afterCommit = created.afterCommit;
      return { statusCode: 202, response: created.record };
    });
    if (afterCommit) await (afterCommit as () => Promise<void>)();
    return reply.code(r.statusCode).header('idempotent-replayed', String(r.replayed)).send(r.response);
  });

  app.get('/api/rollouts', async (request) => {
    const q = listRolloutsQuery.parse(request.query);
    return { data: await deps.rollouts.list({ ...q, organizationId: scopeOf(request, q.organizationId) }) };
  });

  app.get('/api/rollouts/:id', async (request) => {
    const { id } = idParams.parse(request.params);
    const { organizationId } = organizationQuery.parse(request.query);
    const r = await deps.rollouts.get(id, scopeOf(request, organizationId));
    if (!r) throw new AppError('rollout_not_found', `no rollout ${id}`);
    return r;
  });

  for (const action of ['cancel', 'pause', 'resume'] as const) {
    app.post(`/api/rollouts/:id/${action}`, async (request) => {
      const { id } = idParams.parse(request.params);
      emptyBody.parse(request.body ?? {});
      const { organizationId } = organizationQuery.parse(request.query);
      return deps.rollouts[action](id, scopeOf(request, organizationId));
    });
  }
}
