import type { FastifyInstance } from 'fastify';
import { acceptedEvent } from '../../notifications/state-events.js';
import type { HttpDeps } from '../deps.js';
import { acceptBody } from '../schemas.js';

/** Public: the invitee's browser posts the token from the link. Rate-limited per client. */
export function registerInvitationRoutes(app: FastifyInstance, deps: HttpDeps): void {
  const max = Number(process.env.ACCEPT_RATE_LIMIT_PER_MINUTE ?? 30);
  app.post('/api/invitations/accept', { config: { rateLimit: { max, timeWindow: '1 minute' } } }, async (request) => {
    const body = acceptBody.parse(request.body ?? {});
    const result = await deps.rollouts.accept(body.token, body.organizationId);
    const notifier = deps.notifier;
    if (notifier) {
      void acceptedEvent(deps.em(), result.userId, result.organizationId)
        .then((e) => e && notifier.emitSafely(e))
        .catch(() => {});
    }
    return { status: 'accepted', ...result };
  });
}
