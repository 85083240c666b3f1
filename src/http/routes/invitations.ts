import type { FastifyInstance } from 'fastify';
import type { HttpDeps } from '../deps.js';
import { acceptBody } from '../schemas.js';

/** Public: the invitee's browser posts the token from the link. Rate-limited per client. */
export function registerInvitationRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const max = Number(process.env.ACCEPT_RATE_LIMIT_PER_MINUTE ?? 30);
  app.post('/api/invitations/accept', { config: { rateLimit: { max, timeWindow: '1 minute' } } }, async (request) => {
    const body = acceptBody.parse(request.body ?? {});
    const result = await deps.rollouts.accept(body.token, body.organizationId);
    return { status: 'accepted', ...result };
  });
}
