import { describe, expect, it } from 'vitest';
import { pgRestartMidRollout, pgRestartMidSync, ROLLOUT_FAULTS, SYNC_FAULTS } from '../../bench/chaos/postgres.js';

/**
 * The short version of bench/chaos/postgres.ts (`npm run chaos -- --only pg-restart-sync,pg-restart-rollout`
 * runs the full one): PostgreSQL — a private cluster, never the shared server — restarted
 * mid-sync and mid-rollout.
 */
// The two scenarios share nothing (each its own cluster, Redis and sink): side by side, the sync
// runs while the rollout's worker process starts.
describe.concurrent('PostgreSQL restarted under load', () => {
  it('mid-sync: each interrupted run ends failed, deactivates nobody, the store stays consistent, the next run succeeds', async () => {
    const o = await pgRestartMidSync(SYNC_FAULTS.quick);
    expect(o.faults).toHaveLength(SYNC_FAULTS.quick.faults.length);
    // The restart part way through the listing always interrupts its run.
    expect(o.faults[0]).toMatchObject({ status: 'failed', wronglyDeactivated: 0, appliedDeactivations: 0 });
    for (const f of o.faults) {
      // Never left running; a run the restart caught at its very end may have finished first.
      expect(['failed', 'succeeded']).toContain(f.status);
      expect(f.wronglyDeactivated).toBe(0);
      if (f.status === 'failed') expect(f.appliedDeactivations).toBe(0);
      expect(f.invariants.failed).toEqual([]);
      expect(f.recoveryMs).not.toBeNull();
      expect(f.recoveryMs!).toBeLessThan(30_000);
    }
    expect(o.finalRun.status).toBe('succeeded');
    expect(o.convergenceRun.counts).toMatchObject({ created: 0, updated: 0, deactivated: 0, reactivated: 0, unchanged: o.expectedActive });
    expect(o.activeUsers).toBe(o.expectedActive - o.expectedTerminated);
    expect(o.deactivatedUsers).toBe(o.expectedTerminated);
    expect(o.duplicateUsers).toBe(0);
    expect(o.invariants.failed).toEqual([]);
    expect(o.result).toMatchObject({ lost: 0, violations: 0, duplicated: 0, ok: true });
  }, 120_000);

  it('mid-rollout: the worker process recovers by itself, the rollout completes, nobody missed, duplicates within the messages in flight', async () => {
    const o = await pgRestartMidRollout(ROLLOUT_FAULTS.quick);
    expect(o.rolloutStatus).toBe('completed');
    expect(o.counts).toMatchObject({ targeted: o.users, sent: o.users, pending: 0, failed: 0 });
    expect(o.lost).toBe(0);
    expect(o.uniqueRecipients).toBe(o.users);
    expect(o.duplicates).toBeLessThanOrEqual(o.duplicateBound);
    expect(o.workerAlive).toBe(true);
    expect(o.leakyLogLines).toBe(0);
    for (const f of o.faults) {
      expect(f.recoveryMs).not.toBeNull();
      expect(f.recoveryMs!).toBeLessThan(30_000);
    }
    expect(o.invariants.failed).toEqual([]);
    expect(o.result.ok).toBe(true);
  }, 180_000);
});
