import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../db/history-actor.js';
import { checkIdempotencyKey, idempotent } from '../../db/idempotency-keys.js';
import { AppError } from '../../lib/errors.js';
import { isUuid } from '../../domain/uuid.js';
import { employeeOfUser, syncEmployeesNow } from '../../sync/on-demand.js';
import { getUser, listUsers, updateUser } from '../../users/user-service.js';
import { scopeOf } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { createUserBody, emptyBody, idParams, listUsersQuery, organizationQuery, updateUserBody } from '../schemas.js';

export function registerUserRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/api/users', async (request) => {
    const q = listUsersQuery.parse(request.query);
    const organizationId = scopeOf(request, q.organizationId);
    const page = await listUsers(deps.em(), { ...q, organizationId });
    return { data: page.users, nextCursor: page.nextCursor };
  });

  app.get('/api/users/:id', async (request) => {
    const { id } = idParams.parse(request.params);
    const { organizationId } = organizationQuery.parse(request.query);
    const user = await getUser(deps.em(), id, scopeOf(request, organizationId));
    if (!user) throw new AppError('user_not_found', `no user ${id}`);
    return user;
  });

  // Creating a user never invites, unless the body asks: `invite: { loginMethod, message? }`.
  app.post('/api/users', async (request, reply) => {
    const body = createUserBody.parse(request.body ?? {});
    const organizationId = scopeOf(request, body.organizationId, { required: true })!;
    const { organizationId: _o, invite, ...input } = body;
    const createdBy = request.principal?.kind === 'organization' ? `token:${request.principal.tokenId}` : 'admin';
    const inviteWith = invite ? { loginMethod: invite.loginMethod, message: invite.message ?? null } : undefined;
    // With an `Idempotency-Key` header: the same key and body again get the first response (one user, one rollout).
    const key = checkIdempotencyKey(request.headers['idempotency-key']);
    if (!key) return reply.code(201).send(await deps.rollouts.createUser(organizationId, input, inviteWith, createdBy));
    let afterCommit: (() => Promise<void>) | null = null;
    const r = await idempotent(deps.em(), { organizationId, scope: 'POST /api/users', key, body: request.body }, async (tx) => {
      const created = await deps.rollouts.createUserIn(tx, organizationId, input, inviteWith, createdBy);
      afterCommit = created.afterCommit;
      return { statusCode: 201, response: created.result };
    });
    if (afterCommit) await (afterCommit as () => Promise<void>)();
    return reply.code(r.statusCode).header('idempotent-replayed', String(r.replayed)).send(r.response);
  });

  // "Sync this person now": the user's record looked up by id at its HR system and applied (never an invitation).
  app.post('/api/users/:id/sync', async (request) => {
    const { id } = idParams.parse(request.params);
    emptyBody.parse(request.body ?? {});
    if (!isUuid(id)) throw new AppError('user_not_found', `no user ${id}`);
    const { organizationId } = organizationQuery.parse(request.query);
    const who = await employeeOfUser(deps.em(), id, scopeOf(request, organizationId) ?? null);
    return syncEmployeesNow(deps, who.connectorId, [who.externalId]);
  });

  // Roles, location, groups, names, an admin's deactivation: never an invitation.
  app.patch('/api/users/:id', async (request) => {
    const { id } = idParams.parse(request.params);
    const body = updateUserBody.parse(request.body ?? {});
    const { organizationId } = organizationQuery.parse(request.query);
    const by = request.principal?.kind === 'organization' ? `token:${request.principal.tokenId}` : 'admin';
    return updateUser(deps.em(), id, body, scopeOf(request, organizationId), actorOf(by));
  });
}
