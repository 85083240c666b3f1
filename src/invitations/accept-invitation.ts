import type { EntityManager } from '@mikro-orm/postgresql';
import { acceptByTokenHash } from '../db/invitation-repository.js';
import { AppError } from '../lib/errors.js';
import { hashToken } from './invitation-tokens.js';
import type { RolloutContext } from './rollout-types.js';

/**
 * A valid, unexpired, unused token of a live invitation makes its user active. Every copy of
 * an invitation's message carries the same token, so whichever copy the user opens works;
 * a token whose message may have gone out before a crash (its invitation claimed, not yet
 * recorded sent) works too. Expired, used, revoked or unknown tokens — or one of another
 * organization — all get the same answer.
 */
export async function acceptInvitation(ctx: RolloutContext, token: string, organizationId?: string): Promise<{ userId: string; organizationId: string }> {
  const invalid = new AppError('invitation_invalid', 'this invitation link is invalid or has expired');
  if (typeof token !== 'string' || token.length < 20 || token.length > 200) throw invalid;
  const em = ctx.deps.orm.em.fork() as EntityManager;
  const row = await em.transactional((tx) => acceptByTokenHash(tx as EntityManager, hashToken(token), organizationId));
  if (!row) throw invalid;
  ctx.deps.log.info({ userId: row.user_id, organizationId: row.organization_id }, 'invitation accepted');
  return { userId: row.user_id, organizationId: row.organization_id };
}
