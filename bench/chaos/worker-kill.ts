/**
 * Worker SIGKILL: a rollout to 20,000 users (quick: 1,000) whose worker process
 * (`hrsync start --role worker`) is SIGKILLed at random moments (5; quick: 2) and restarted
 * each time. Nobody targeted may go without a message; duplicates may only come from the
 * messages in flight at the kills.
 *
 * The bound: a worker runs `concurrency` batch jobs at once, and a batch claims `chunkSize`
 * invitations at a time (pending → sending), sends them, then records them sent in one
 * statement. Only a claimed, unrecorded invitation can be sent again after a kill (the next
 * attempt of its batch puts `sending` rows back to pending), so each kill can duplicate at
 * most concurrency × chunkSize messages: 4 × 25 = 100 with the defaults, 500 for 5 kills.
 * The scenario also counts the rows actually `sending` (claimed by the killed process) right
 * after each kill, a tighter bound that the duplicates must stay within too.
 *
 * Settings are the product's defaults (batch 250, chunk 25, concurrency 4, QUEUE_LOCK_MS
 * 30 s, reconcile every 30 s) except the send rate (unlimited: the SMTP server is local).
 * Quick mode uses batch 50, QUEUE_LOCK_MS 3 s and reconcile every 2 s to stay within seconds,
 * and places its second kill on purpose: when a batch the first kill interrupted is running
 * again in the new worker. That batch's job then stalls twice, which BullMQ's default
 * (maxStalledCount 1) turns into a failed job; the scenario counts failed batch jobs (a
 * violation) as well as stalled ones.
 */
import { QueueEvents } from 'bullmq';
import { connection, QUEUE_NAMES } from '../../jobs/queues.js';
import type { ChaosResult, ChaosScenario } from './scenario.js';
import { employees } from '../../test/support/store.js';
import { judgeRollout, kindsText } from './lib/rollout-check.js';
import { openRig, ORG, rng, round2, secondsSince, seedFromEnv, sleep, until, type WorkerProc } from './lib/rig.js';

const TABLE = 'worker SIGKILL';

export interface KillRecord {
  /** messages received when the kill was sent */
  atMessages: number;
  /** invitations the killed process had claimed and not recorded (`sending`) */
  inFlight: number;
  /** seconds from the kill to the next message (the restarted worker's first) */
  recoverySeconds: number;
  /** seconds the new process took to be running */
  restartSeconds: number;
}

export type KillMoment = 'random' | 'retaken';

export async function runWorkerKill(opts: { quick: boolean; log: (line: string) => void; users?: number; moments?: KillMoment[] }): Promise<ChaosResult[]> {
  const { quick, log } = opts;
  const N = opts.users ?? (quick ? 1_000 : 20_000);
  const moments: KillMoment[] = opts.moments ?? (quick ? ['random', 'retaken'] : ['random', 'random', 'random', 'random', 'random']);
  const KILLS = moments.length;
  const seed = seedFromEnv();
  const random = rng(seed);
  const t0 = Date.now();
  const rig = await openRig({
    connectors: [{ id: 'chaos-hr', rows: employees(N) }],
    reconcileEverySeconds: quick ? 2 : 30,
    queueLockMs: quick ? 3_000 : 30_000,
    env: quick ? { INVITE_BATCH_SIZE: '50' } : {},
  });
  let worker: WorkerProc | null = null;
  const events = new QueueEvents(QUEUE_NAMES.invitations, { connection: connection(rig.redis.url, 'worker'), prefix: rig.ctx.config.queuePrefix });
  let failedJobs = 0;
  let stalledJobs = 0;
  events.on('failed', () => failedJobs++);
  events.on('stalled', () => stalledJobs++);
  events.on('error', () => {});
  try {
    await events.waitUntilReady();
    const { concurrency, chunkSize, batchSize } = rig.ctx.config.invitations;
    const perKill = concurrency * chunkSize;
    const sync = await rig.ctx.sync.run({ connectorId: 'chaos-hr' });
    if (sync.status !== 'succeeded' || sync.counts.created !== N) throw new Error(`setup sync: ${sync.status}, created ${sync.counts.created} of ${N}`);
    const ids = (await rig.query<{ id: string }>(`select id from users where organization_id = $1 order by seq`, [ORG])).map((r) => r.id);
    worker = await rig.spawnWorker();
    log(`  ${N.toLocaleString('en-US')} users synced; worker up in ${(worker.startMs / 1000).toFixed(1)} s; batch ${batchSize}, chunk ${chunkSize}, concurrency ${concurrency}; seed ${seed}`);

    // Random moments, as points in the rollout's progress (5%–85% of the messages).
    const thresholds = Array.from({ length: KILLS }, () => Math.floor(N * (0.05 + 0.8 * random()))).sort((a, b) => a - b);
    /** Active batch jobs and when they became active: a dead worker's jobs stay listed as active until the stalled check moves them. */
    const activeJobs = async () => new Map((await rig.ctx.queues().invitations.getJobs(['active'])).filter(Boolean).map((j) => [j.id!, j.processedOn ?? 0]));
    let interrupted = new Set<string>();
    const rollout = await rig.ctx.rollouts().create(ORG, { userIds: ids, loginMethod: 'password' });
    const tRollout = Date.now();
    const kills: KillRecord[] = [];
    const finished = async () => {
      const [r] = await rig.query<{ status: string }>(`select status from rollouts where id = $1`, [rollout.id]);
      return r && r.status !== 'running' && r.status !== 'scheduled';
    };
    for (const [k, moment] of moments.entries()) {
      const threshold = thresholds[k]!;
      const w: WorkerProc = worker;
      let polls = 0;
      let retaken: string | undefined;
      const go = await until(
        'kill moment',
        async () => {
          if (moment === 'random' && rig.mail.total >= threshold && rig.mail.firstAfter(w.spawnedAt) !== null) return 'kill';
          if (moment === 'retaken' && polls % 10 === 0) {
            const active = await activeJobs();
            retaken = [...interrupted].find((id) => (active.get(id) ?? 0) >= w.spawnedAt);
            if (retaken) return 'kill';
          }
          if (++polls % 100 === 0 && (await finished())) return 'done';
          return null;
        },
        quick ? 120_000 : 600_000,
        5,
      );
      if (go === 'done') break;
      interrupted = new Set((await activeJobs()).keys());
      const tKill = Date.now();
      const atMessages = rig.mail.total;
      await w.kill('SIGKILL');
      await sleep(300); // a statement the dead process had sent may still commit
      const [{ n }] = await rig.query<{ n: number }>(
        `select count(*)::int as n from invitations where rollout_id = $1 and status = 'sending' and updated_at >= to_timestamp($2::double precision / 1000)`,
        [rollout.id, w.spawnedAt],
      );
      worker = await rig.spawnWorker();
      const nw: WorkerProc = worker;
      const next = await until('first message after the restart', async () => rig.mail.firstAfter(nw.spawnedAt) ?? ((await finished()) ? -1 : null), quick ? 120_000 : 300_000, 10);
      const rec: KillRecord = { atMessages, inFlight: n, recoverySeconds: next > 0 ? round2((next - tKill) / 1000) : NaN, restartSeconds: round2(nw.startMs / 1000) };
      kills.push(rec);
      log(`  kill ${kills.length} (${moment === 'retaken' ? `while ${retaken}, interrupted by the kill before, ran again` : 'random'}): at ${atMessages} messages, ${n} in flight; worker restarted in ${rec.restartSeconds} s; next message ${rec.recoverySeconds} s after the kill`);
    }
    const done = await until('rollout finished', async () => ((await finished()) ? true : null), quick ? 180_000 : 900_000, 100);
    const rolloutSeconds = secondsSince(tRollout);
    void done;
    await worker.kill('SIGTERM');
    worker = null;
    const v = await judgeRollout(rig, rollout.id);
    // A batch job BullMQ failed (it stalled more often than allowed, or ran out of attempts) is a
    // violation even when the reconciler queued the batch again: it should not have failed.
    await sleep(200);
    if (failedJobs > 0) {
      v.violationKinds.batch_job_failed = failedJobs;
      v.violations += failedJobs;
    }
    const inFlightTotal = kills.reduce((a, k) => a + k.inFlight, 0);
    const bound = kills.length * perKill;
    const recoveries = kills.map((k) => k.recoverySeconds).filter((x) => Number.isFinite(x));
    const ok = v.lost === 0 && v.violations === 0 && v.deadLinks === 0 && v.duplicated <= inFlightTotal && inFlightTotal <= bound && kills.length === KILLS;
    const result: ChaosResult = {
      table: TABLE,
      scenario: `${N.toLocaleString('en-US')}-user rollout, worker process SIGKILLed at ${KILLS} ${moments.every((m) => m === 'random') ? 'random moments' : `moments (${moments.join(', ')})`} and restarted`,
      faults: kills.length,
      expected: N,
      lost: v.lost,
      duplicated: v.duplicated,
      duplicateBound: bound,
      deadLinks: v.deadLinks,
      violations: v.violations,
      recoverySeconds: recoveries.length ? Math.max(...recoveries) : null,
      seconds: secondsSince(t0),
      ok,
      notes:
        `bound = kills × concurrency × chunk = ${kills.length} × ${concurrency} × ${chunkSize}; measured in flight at the kills ${kills.map((k) => k.inFlight).join(' + ')} = ${inFlightTotal}; ` +
        `kills at ${kills.map((k) => k.atMessages).join(', ')} messages; recovery ${recoveries.join(', ')} s (worker start ${kills.map((k) => k.restartSeconds).join(', ')} s); ` +
        `rollout ${v.status} in ${rolloutSeconds} s, ${v.sentCount} sent; ${v.usersWithDuplicates} users got 2+ messages; dead links ${v.deadLinks}; violations: ${kindsText(v.violationKinds)}; ` +
        `batch jobs stalled ${stalledJobs} times and retaken, failed ${failedJobs}; kill moments ${moments.join(', ')}; ` +
        `QUEUE_LOCK_MS ${rig.env.QUEUE_LOCK_MS}, seed ${seed}` + (kills.length < KILLS ? `; only ${kills.length} of ${KILLS} kills happened before the rollout finished` : ''),
    };
    return [Object.assign(result, { details: { kills, statuses: v.statuses, inFlightTotal, perKill, rolloutSeconds, seed, stalledJobs, failedJobs, moments } })];
  } finally {
    await events.close().catch(() => {});
    await worker?.kill('SIGKILL');
    await rig.close();
  }
}

export const scenarios: ChaosScenario[] = [{ name: 'worker-kill', table: TABLE, run: (o) => runWorkerKill(o) }];
