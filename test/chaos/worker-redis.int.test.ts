import { describe, expect, it } from 'vitest';
import { runRedisRestart } from '../../bench/chaos/redis.js';
import { runWorkerKill, type KillRecord } from '../../bench/chaos/worker-kill.js';
import type { ChaosResult } from '../../bench/chaos/scenario.js';

/**
 * The short versions of the chaos scenarios of bench/chaos/worker-kill.ts and
 * bench/chaos/redis.ts (`npm run chaos -- --quick`): real PostgreSQL (a database of their
 * own), a private redis-server each, real SMTP servers, and `hrsync start --role worker`
 * processes. The two run side by side: each spends most of its time waiting for worker
 * processes to start. Only counts are asserted, never timings: the machine is shared, and the
 * generous timeouts are for a loaded one (each `hrsync` process start under tsx takes 5 s on an
 * idle 2-core machine and 15 s at a load of 12).
 */
const lines: string[] = [];
const log = (l: string) => lines.push(l);
type WithDetails<T> = ChaosResult & { details: T };

describe('chaos, short versions', () => {
  it.concurrent('a worker SIGKILLed twice mid-rollout (once while re-running a batch the first kill interrupted) misses nobody; duplicates stay within the messages in flight', async () => {
    const [r] = (await runWorkerKill({ quick: true, log })) as Array<WithDetails<{ kills: KillRecord[]; inFlightTotal: number; perKill: number; statuses: Record<string, number>; failedJobs: number }>>;
    expect(r, r?.notes).toBeDefined();
    const d = r!.details;
    expect(r!.faults, r!.notes).toBe(2);
    for (const k of d.kills) expect(k.atMessages, r!.notes).toBeLessThan(1_000); // each kill came mid-rollout
    expect(r!.lost, r!.notes).toBe(0);
    expect(d.statuses, r!.notes).toEqual({ sent: 1_000 });
    expect(d.failedJobs, r!.notes).toBe(0); // the batch that stalled twice was not failed
    // duplicates ≤ what the killed processes had claimed and not recorded ≤ kills × concurrency × chunk
    expect(d.perKill).toBe(4 * 25);
    expect(r!.duplicateBound).toBe(2 * 4 * 25);
    expect(r!.duplicated, r!.notes).toBeLessThanOrEqual(d.inFlightTotal);
    expect(d.inFlightTotal, r!.notes).toBeLessThanOrEqual(r!.duplicateBound!);
    expect(r!.violations, r!.notes).toBe(0);
    expect(r!.ok, r!.notes).toBe(true);
  }, 400_000);

  it.concurrent('Redis restarted empty mid-rollout and mid-sync: every run ends, nothing is lost or sent twice, and the next runs succeed', async () => {
    const [a, b] = (await runRedisRestart({ quick: true, log })) as [
      WithDetails<{ atMessages: number; inFlight: number; statuses: Record<string, number>; next: { status: string; statuses: Record<string, number> } }>,
      WithDetails<{ atFault: Array<{ connector: string; status: string }>; after: Array<{ connector: string; status: string }>; next: Array<{ connector: string; status: string; counts: Record<string, number> }> }>,
    ];
    // (a) mid-rollout
    expect(a.details.atMessages, a.notes).toBeGreaterThan(0);
    expect(a.details.atMessages, a.notes).toBeLessThan(1_000);
    expect(a.lost, a.notes).toBe(0);
    expect(a.duplicated, a.notes).toBe(0);
    expect(a.details.statuses, a.notes).toEqual({ sent: 1_000 });
    expect(a.details.next, a.notes).toEqual({ status: 'completed', statuses: { sent: 100 }, seconds: expect.any(Number) });
    expect(a.violations, a.notes).toBe(0);
    expect(a.ok, a.notes).toBe(true);
    // (b) mid-sync: two runs in the worker's slots, one still queued in Redis when it went
    expect(b.details.atFault, b.notes).toEqual([
      { connector: 'big-a', status: 'running' },
      { connector: 'big-b', status: 'running' },
      { connector: 'small-c', status: 'queued' },
    ]);
    for (const r of b.details.after) expect(['succeeded', 'failed'], b.notes).toContain(r.status);
    expect(b.details.after.find((r) => r.connector === 'small-c')?.status, b.notes).toBe('succeeded'); // queued again from the store
    expect(b.details.next.map((r) => r.status), b.notes).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(b.details.next.find((r) => r.connector === 'big-a')?.counts.unchanged, b.notes).toBe(6_000);
    expect(b.lost, b.notes).toBe(0);
    expect(b.duplicated, b.notes).toBe(0);
    expect(b.violations, b.notes).toBe(0);
    expect(b.ok, b.notes).toBe(true);
  }, 400_000);
});
