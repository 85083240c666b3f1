/** Pure rules of a rollout: whom it reaches and why others are skipped. No I/O, no clock. */

import { isValidEmail } from './email-address.js';

export type LoginMethod = 'password' | 'sso' | 'magic_link';
export const LOGIN_METHODS: readonly LoginMethod[] = ['password', 'sso', 'magic_link'];

export type RolloutStatus = 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';

/**
 * Why a user was not invited: `already_invited` — they hold a sent, unexpired invitation;
 * `pending_elsewhere` — another rollout is about to send them one.
 */
export type SkipReason = 'deactivated' | 'no_email' | 'invalid_email' | 'already_invited' | 'pending_elsewhere' | 'already_active' | 'not_found';

export interface RolloutCandidate {
  id: string;
  status: 'active' | 'deactivated';
  access: 'none' | 'invited' | 'active';
  email: string | null;
  /** An invitation of another rollout is waiting to be sent to this user. */
  pendingElsewhere?: boolean;
}

export interface RolloutTargets {
  targets: string[];
  skipped: Partial<Record<SkipReason, number>>;
}

/**
 * Who gets an invitation: active users with an e-mail who cannot log in yet. An explicit
 * resend also reaches users invited before who have not accepted (their old link is
 * revoked); active users never get another invitation. Ids asked for but not found in
 * the organization count as `not_found`.
 */
export function planRollout(candidates: readonly RolloutCandidate[], opts: { resend: boolean; requestedIds?: readonly string[] }): RolloutTargets {
  const skipped: Partial<Record<SkipReason, number>> = {};
  const skip = (r: SkipReason) => (skipped[r] = (skipped[r] ?? 0) + 1);
  const targets: string[] = [];
  const seen = new Set<string>();
  for (const u of candidates) {
    if (seen.has(u.id)) continue;
    seen.add(u.id);
    if (u.status !== 'active') skip('deactivated');
    else if (!u.email) skip('no_email');
    // stored before the one address rule (src/domain/email-address.ts); the next sync rejects the record
    else if (!isValidEmail(u.email)) skip('invalid_email');
    else if (u.access === 'active') skip('already_active');
    else if (u.access === 'invited' && !opts.resend) skip('already_invited');
    else if (u.pendingElsewhere) skip('pending_elsewhere');
    else targets.push(u.id);
  }
  if (opts.requestedIds) {
    for (const id of new Set(opts.requestedIds)) if (!seen.has(id)) skip('not_found');
  }
  return { targets, skipped };
}

/** Which status changes an administrator may make. */
export function nextStatus(current: RolloutStatus, action: 'cancel' | 'pause' | 'resume', started: boolean): RolloutStatus | null {
  switch (action) {
    case 'cancel':
      return current === 'scheduled' || current === 'running' || current === 'paused' ? 'cancelled' : null;
    case 'pause':
      return current === 'scheduled' || current === 'running' ? 'paused' : null;
    case 'resume':
      return current === 'paused' ? (started ? 'running' : 'scheduled') : null;
  }
}
