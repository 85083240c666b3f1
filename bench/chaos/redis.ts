/**
 * Redis restarted with its data gone: the private redis-server is killed and a fresh one
 * started on the same port after a short outage, while a worker process
 * (`hrsync start --role worker`) keeps running.
 *
 * (a) mid-rollout: a rollout to 20,000 users (quick: 1,000), Redis restarted when about 30% of
 *     the messages are out. The rollout must complete; nobody may be missed; and since the
 *     worker lives on, every message it had in flight is finished by the process that claimed
 *     it: no duplicate is acceptable (bound 0). Then the next rollout (500 other users; quick
 *     100) must complete the same way.
 * (b) mid-sync: three syncs queued through the sync queue as POST /api/connectors/:id/sync
 *     queues them (enqueueSync): two large file-connector syncs, 100,000 and 50,000 employees
 *     (quick: 6,000 each), which take the worker's two sync slots, and a small one
 *     (1,000; quick 100) still waiting in Redis. Redis is restarted when the first has written
 *     about 20% of its users. Every run must end (succeeded or failed: a run left `queued` or
 *     `running` is a failure), and the next run of each connector must succeed, leaving every
 *     employee in the store exactly once and nobody invited.
 *
 * Settings are the product's defaults (reconcile every 30 s, QUEUE_LOCK_MS 30 s, batch 250)
 * except the send rate (unlimited). Quick mode: reconcile every 2 s, QUEUE_LOCK_MS 3 s, batch 50.
 */
import { enqueueSync } from '../../jobs/sync/enqueue.js';
import { employees } from '../../test/support/store.js';
import type { ChaosResult, ChaosScenario } from './scenario.js';
import { judgeRollout, kindsText } from './lib/rollout-check.js';
import { openRig, ORG, round2, secondsSince, until, type Rig } from './lib/rig.js';

const TABLE = 'Redis restart';
const OUTAGE_MS = 2_000;
const TERMINAL = new Set(['succeeded', 'failed', 'needs_approval', 'approved', 'rejected', 'skipped']);

interface Sizes {
  rollout: number;
  nextRollout: number;
  bigA: number;
  bigB: number;
  smallC: number;
}

export async function runRedisRestart(opts: { quick: boolean; log: (line: string) => void; sizes?: Partial<Sizes> }): Promise<ChaosResult[]> {
  const { quick, log } = opts;
  const sizes: Sizes = {
    ...(quick ? { rollout: 1_000, nextRollout: 100, bigA: 6_000, bigB: 6_000, smallC: 100 } : { rollout: 20_000, nextRollout: 500, bigA: 100_000, bigB: 50_000, smallC: 1_000 }),
    ...opts.sizes,
  };
  const reconcileEverySeconds = quick ? 2 : 30;
  const rig = await openRig({
    connectors: [
      { id: 'chaos-hr', rows: employees(sizes.rollout + sizes.nextRollout) },
      { id: 'big-a', rows: employees(sizes.bigA, 1_000_001) },
      { id: 'big-b', rows: employees(sizes.bigB, 2_000_001) },
      { id: 'small-c', rows: employees(sizes.smallC, 3_000_001) },
    ],
    reconcileEverySeconds,
    queueLockMs: quick ? 3_000 : 30_000,
    env: quick ? { INVITE_BATCH_SIZE: '50' } : {},
  });
  try {
    const setup = await rig.ctx.sync.run({ connectorId: 'chaos-hr' });
    if (setup.status !== 'succeeded') throw new Error(`setup sync: ${setup.status}`);
    const worker = await rig.spawnWorker();
    log(`  worker up in ${(worker.startMs / 1000).toFixed(1)} s`);
    const rows = [await midRollout(rig, sizes, quick, log), await midSync(rig, sizes, quick, reconcileEverySeconds, log)];
    await worker.kill('SIGTERM');
    return rows;
  } finally {
    await rig.close();
  }
}

async function rolloutStatus(rig: Rig, id: string): Promise<string> {
  const [r] = await rig.query<{ status: string }>(`select status from rollouts where id = $1`, [id]);
  return r?.status ?? 'missing';
}

async function midRollout(rig: Rig, sizes: Sizes, quick: boolean, log: (line: string) => void): Promise<ChaosResult> {
  const t0 = Date.now();
  const N = sizes.rollout;
  const ids = (await rig.query<{ id: string }>(`select u.id from users u where u.connector_id = 'chaos-hr' order by seq`)).map((r) => r.id);
  rig.mail.reset();
  const r = await rig.ctx.rollouts().create(ORG, { userIds: ids.slice(0, N), loginMethod: 'sso' });
  let polls = 0;
  await until('30% of the messages', async () => rig.mail.total >= Math.floor(N * 0.3) || (++polls % 100 === 0 && !['scheduled', 'running'].includes(await rolloutStatus(rig, r.id))), quick ? 90_000 : 600_000, 5);
  const active = (await rig.ctx.queues().invitations.getJobs(['active'])).filter(Boolean).map((j) => (j.data as { batch: number }).batch);
  const [{ n: inFlight }] = await rig.query<{ n: number }>(`select count(*)::int as n from invitations where rollout_id = $1 and status = 'sending'`, [r.id]);
  const atMessages = rig.mail.total;
  const tDown = Date.now();
  await rig.redis.restart(OUTAGE_MS);
  log(`  (a) Redis restarted at ${atMessages} of ${N} messages (${inFlight} in flight, batches ${active.join(', ') || 'none'} active), ${OUTAGE_MS / 1000} s outage`);
  let status = 'running';
  try {
    await until('rollout finished', async () => !['scheduled', 'running'].includes((status = await rolloutStatus(rig, r.id))), quick ? 120_000 : 900_000, 100);
  } catch {
    /* judged below: a rollout left running is a violation */
  }
  const rolloutSeconds = secondsSince(tDown);
  // Recovery: from Redis going down to the first message of a batch that was not running then
  // (a batch the reconciler had to queue again).
  const [{ t }] = await rig.query<{ t: number | null }>(
    `select extract(epoch from min(sent_at)) * 1000 as t from invitations where rollout_id = $1 and sent_at > to_timestamp($2::double precision / 1000) and not (batch = any($3::int[]))`,
    [r.id, tDown, active],
  );
  const recovery = t ? round2((Number(t) - tDown) / 1000) : null;
  const v = await judgeRollout(rig, r.id);
  log(`  (a) rollout ${status} ${rolloutSeconds} s after the restart: lost ${v.lost}, duplicated ${v.duplicated}, violations ${kindsText(v.violationKinds)}`);

  // The next rollout, on the restarted Redis.
  rig.mail.reset();
  const next = await rig.ctx.rollouts().create(ORG, { userIds: ids.slice(N, N + sizes.nextRollout), loginMethod: 'sso' });
  const tNext = Date.now();
  try {
    await until('next rollout finished', async () => !['scheduled', 'running'].includes(await rolloutStatus(rig, next.id)), quick ? 90_000 : 300_000, 100);
  } catch {
    /* judged below */
  }
  const nextSeconds = secondsSince(tNext);
  const v2 = await judgeRollout(rig, next.id);
  const kinds = { ...v.violationKinds };
  if (v2.lost) kinds.next_rollout_lost = v2.lost;
  if (v2.duplicated) kinds.next_rollout_duplicated = v2.duplicated;
  for (const [k, n] of Object.entries(v2.violationKinds)) kinds[`next_rollout_${k}`] = n;
  const violations = Object.values(kinds).reduce((a, b) => a + b, 0);
  log(`  (a) next rollout ${v2.status} in ${nextSeconds} s: ${v2.sentCount} of ${sizes.nextRollout} sent`);
  return Object.assign(
    {
      table: TABLE,
      scenario: `(a) mid-rollout: ${N.toLocaleString('en-US')}-user rollout, Redis killed at ~30% and restarted empty; then the next rollout`,
      faults: 1,
      expected: N,
      lost: v.lost,
      duplicated: v.duplicated,
      duplicateBound: 0,
      violations,
      recoverySeconds: recovery,
      seconds: secondsSince(t0),
      ok: v.lost === 0 && v.duplicated === 0 && violations === 0,
      notes:
        `restart at ${atMessages} messages, ${inFlight} in flight, ${OUTAGE_MS / 1000} s outage; rollout ${v.status} ${rolloutSeconds} s after the fault (${v.sentCount} sent); ` +
        `recovery = fault → first message of a batch the reconciler re-queued (reconcile every ${rig.ctx.config.invitations.reconcileEverySeconds} s); ` +
        `bound 0: the worker lives on, so each message in flight is finished by the process that claimed it; ${v.usersWithDuplicates} users got 2+ messages; ` +
        `next rollout ${v2.status} in ${nextSeconds} s, ${v2.sentCount}/${sizes.nextRollout} sent; violations: ${kindsText(kinds)}`,
    } satisfies ChaosResult,
    { details: { active, inFlight, atMessages, statuses: v.statuses, next: { status: v2.status, statuses: v2.statuses, seconds: nextSeconds } } },
  );
}

interface RunRow {
  id: string;
  connector_id: string;
  status: string;
  started_at: Date | null;
  error: string | null;
  counts: Record<string, number>;
}

async function runs(rig: Rig, ids: string[]): Promise<RunRow[]> {
  return rig.query<RunRow>(`select id, connector_id, status, started_at, error, counts from sync_runs where id = any($1::uuid[]) order by connector_id`, [ids]);
}

async function midSync(rig: Rig, sizes: Sizes, quick: boolean, reconcileEverySeconds: number, log: (line: string) => void): Promise<ChaosResult> {
  const t0 = Date.now();
  const expected: Record<string, number> = { 'big-a': sizes.bigA, 'big-b': sizes.bigB, 'small-c': sizes.smallC };
  const [{ n: invitationsBefore }] = await rig.query<{ n: number }>(`select count(*)::int as n from invitations`);
  const queue = rig.ctx.queues().sync;
  const first: Record<string, string> = {};
  for (const c of Object.keys(expected)) first[c] = (await enqueueSync(rig.ctx.em(), queue, { connectorId: c, trigger: 'api' })).runId;
  const firstIds = Object.values(first);
  await until(
    '20% of big-a written',
    async () => {
      const [{ n }] = await rig.query<{ n: number }>(`select count(*)::int as n from users where connector_id = 'big-a'`);
      if (n >= sizes.bigA * 0.2) return true;
      const [a] = await runs(rig, [first['big-a']!]);
      return !['queued', 'running'].includes(a?.status ?? 'missing');
    },
    quick ? 120_000 : 600_000,
    50,
  );
  const atFault = await runs(rig, firstIds);
  const [{ n: writtenA }] = await rig.query<{ n: number }>(`select count(*)::int as n from users where connector_id = 'big-a'`);
  const tDown = Date.now();
  await rig.redis.restart(OUTAGE_MS);
  const statusAt = atFault.map((r) => `${r.connector_id} ${r.status}`).join(', ');
  log(`  (b) Redis restarted with ${writtenA} of ${sizes.bigA} big-a users written; runs then: ${statusAt}`);

  // Every run must end. The two large ones run in the worker's process and do not need Redis;
  // a run whose job Redis lost needs the reconciler: allow two rounds of it and a margin.
  const kinds: Record<string, number> = {};
  const bump = (k: string, n = 1) => {
    if (n > 0) kinds[k] = (kinds[k] ?? 0) + n;
  };
  const allEnded = async (ids: string[]) => (await runs(rig, ids)).every((r) => TERMINAL.has(r.status));
  try {
    await until('the large runs ended', async () => allEnded([first['big-a']!, first['big-b']!]), quick ? 180_000 : 900_000, 200);
    await until('every run ended', async () => allEnded(firstIds), (2 * reconcileEverySeconds + 30) * 1000, 200);
  } catch {
    /* counted below */
  }
  const after = await runs(rig, firstIds);
  for (const r of after) if (!TERMINAL.has(r.status)) bump(`run_left_${r.status}`);
  const endedSeconds = secondsSince(tDown);
  const startedAfter = after.map((r) => (r.started_at ? new Date(r.started_at).getTime() : 0)).filter((t) => t > tDown);
  const recovery = startedAfter.length ? round2((Math.min(...startedAfter) - tDown) / 1000) : null;
  log(`  (b) after the fault: ${after.map((r) => `${r.connector_id} ${r.status}${r.error ? ` (${r.error.slice(0, 80)})` : ''}`).join(', ')}`);

  // The next run of every connector must succeed.
  const next: Record<string, string> = {};
  for (const c of Object.keys(expected)) next[c] = (await enqueueSync(rig.ctx.em(), queue, { connectorId: c, trigger: 'api' })).runId;
  const tNext = Date.now();
  try {
    await until('the next runs ended', async () => allEnded(Object.values(next)), quick ? 120_000 : 900_000, 200);
  } catch {
    /* counted below */
  }
  const nextRuns = await runs(rig, Object.values(next));
  for (const r of nextRuns) if (r.status !== 'succeeded') bump(`next_run_${r.status}`);
  const nextSeconds = secondsSince(tNext);

  let lost = 0;
  let duplicated = 0;
  for (const [c, n] of Object.entries(expected)) {
    const [u] = await rig.query<{ active: number; total: number; distinct_ids: number }>(
      `select count(*) filter (where status = 'active')::int as active, count(*)::int as total, count(distinct external_id)::int as distinct_ids from users where connector_id = $1`,
      [c],
    );
    lost += Math.max(0, n - u!.active);
    duplicated += u!.total - u!.distinct_ids;
    bump('unexpected_users', Math.max(0, u!.total - n));
  }
  const [{ n: invitationsAfter }] = await rig.query<{ n: number }>(`select count(*)::int as n from invitations`);
  bump('invitations_created_by_sync', invitationsAfter - invitationsBefore);
  const [{ n: invited }] = await rig.query<{ n: number }>(`select count(*)::int as n from users where connector_id in ('big-a', 'big-b', 'small-c') and access <> 'none'`);
  bump('synced_users_with_access', invited);
  const violations = Object.values(kinds).reduce((a, b) => a + b, 0);
  const total = Object.values(expected).reduce((a, b) => a + b, 0);
  log(`  (b) next runs: ${nextRuns.map((r) => `${r.connector_id} ${r.status}`).join(', ')} in ${nextSeconds} s; lost ${lost}, violations ${kindsText(kinds)}`);
  return Object.assign(
    {
      table: TABLE,
      scenario: `(b) mid-sync: syncs of ${sizes.bigA.toLocaleString('en-US')} + ${sizes.bigB.toLocaleString('en-US')} employees running and one of ${sizes.smallC.toLocaleString('en-US')} queued, Redis killed and restarted empty; then the next runs`,
      faults: 1,
      expected: total,
      lost,
      duplicated,
      duplicateBound: 0,
      violations,
      recoverySeconds: recovery,
      seconds: secondsSince(t0),
      ok: lost === 0 && duplicated === 0 && violations === 0,
      notes:
        `at the fault: ${statusAt}, ${writtenA} big-a users written; after: ${after.map((r) => `${r.connector_id} ${r.status}`).join(', ')} (all ended ${endedSeconds} s after the fault); ` +
        `recovery = fault → first sync run started after it; next runs ${nextRuns.map((r) => `${r.connector_id} ${r.status}`).join(', ')} in ${nextSeconds} s; violations: ${kindsText(kinds)}`,
    } satisfies ChaosResult,
    { details: { atFault: atFault.map((r) => ({ connector: r.connector_id, status: r.status })), after: after.map((r) => ({ connector: r.connector_id, status: r.status, error: r.error })), next: nextRuns.map((r) => ({ connector: r.connector_id, status: r.status, counts: r.counts })) } },
  );
}

export const scenarios: ChaosScenario[] = [{ name: 'redis-restart', table: TABLE, run: (o) => runRedisRestart(o) }];
