/** Pure rules of a rollout: whom it reaches and why others are skipped. No I/O, no clock. */

export type LoginMethod = 'password' | 'sso' | 'magic_link';
export const LOGIN_METHODS: readonly LoginMethod[] = ['password', 'sso', 'magic_link'];

export type RolloutStatus = 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled' | 'failed';

export type SkipReason = 'deactivated' | 'no_email' | 'already_invited' | 'already_active' | 'not_found';

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
    else if (u.access === 'active') skip('already_active');
    else if (u.access === 'invited' && !opts.resend) skip('already_invited');
    else if (u.pendingElsewhere) skip('already_invited');
    else targets.push(u.id);
  }
  if (opts.requestedIds) {
    for (const id of new Set(opts.requestedIds)) if (!seen.has(id)) skip('not_found');
  }
  return { targets, skipped };
}

/** Splits targets into numbered batches of at most `size`. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
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
