import { describe, expect, it } from 'vitest';
import { nextStatus, planRollout, type RolloutCandidate } from '../../src/domain/rollout-plan.js';

const u = (id: string, over: Partial<RolloutCandidate> = {}): RolloutCandidate => ({ id, status: 'active', access: 'none', email: `${id}@acme.example`, ...over });

describe('planRollout', () => {
  it('invites active users with a usable address and no access; counts every other reason', () => {
    const plan = planRollout(
      [
        u('a'),
        u('b', { status: 'deactivated' }),
        u('c', { email: null }),
        u('d', { email: '.smith@acme.example' }), // stored before the one address rule
        u('e', { access: 'invited' }),
        u('f', { pendingElsewhere: true }),
        u('g', { access: 'active' }),
        u('a'),
      ],
      { resend: false, requestedIds: ['a', 'zz'] },
    );
    expect(plan.targets).toEqual(['a']);
    expect(plan.skipped).toEqual({ deactivated: 1, no_email: 1, invalid_email: 1, already_invited: 1, pending_elsewhere: 1, already_active: 1, not_found: 1 });
  });

  it('a resend reaches the invited, never the active, nor someone another rollout is about to mail', () => {
    const plan = planRollout([u('e', { access: 'invited' }), u('g', { access: 'active' }), u('f', { access: 'invited', pendingElsewhere: true })], { resend: true });
    expect(plan.targets).toEqual(['e']);
    expect(plan.skipped).toEqual({ already_active: 1, pending_elsewhere: 1 });
  });
});

describe('nextStatus', () => {
  it.each([
    ['running', 'pause', true, 'paused'],
    ['paused', 'resume', true, 'running'],
    ['paused', 'resume', false, 'scheduled'],
    ['completed', 'cancel', true, null],
    ['scheduled', 'cancel', false, 'cancelled'],
  ] as const)('%s + %s (started %s) → %s', (from, action, started, to) => {
    expect(nextStatus(from, action, started)).toBe(to);
  });
});
