import type { Queue } from 'bullmq';
import type { RolloutQueuePort } from '../src/invitations/rollout-service.js';
import { batchJobId } from './invitations/queue.js';
import { isLiveJobState, LIVE_JOB_STATES } from './queues.js';
import { triggerJobId } from './rollouts/queue.js';

const CHUNK = 500;

/** The rollout service's view of the BullMQ queues. */
export function bullmqRolloutPort(queues: { rollouts: Queue; invitations: Queue }): RolloutQueuePort {
  return {
    async scheduleTrigger(rolloutId, sendAt) {
      const id = triggerJobId(rolloutId);
      const existing = await queues.rollouts.getJob(id);
      if (existing) {
        if (isLiveJobState(await existing.getState())) return;
        await existing.remove().catch(() => {});
      }
      await queues.rollouts.add('fire', { rolloutId }, { jobId: id, delay: Math.max(0, sendAt.getTime() - Date.now()) });
    },
    async removeTrigger(rolloutId) {
      const job = await queues.rollouts.getJob(triggerJobId(rolloutId));
      if (job && (await job.getState()) !== 'active') await job.remove().catch(() => {});
    },
    async enqueueBatches(rolloutId, batches, opts = {}) {
      if (opts.replaceFinished) {
        // A job id that still exists blocks adding the job again: a batch whose job failed (its
        // retries ran out, and the invitations were not marked failed: the worker died, or the
        // database was away) would never run again, however often the reconciler queued it.
        for (let i = 0; i < batches.length; i += CHUNK) {
          const ids = batches.slice(i, i + CHUNK).map((b) => batchJobId(rolloutId, b));
          const states = await Promise.all(ids.map((id) => queues.invitations.getJobState(id)));
          await Promise.all(
            ids.map(async (id, k) => {
              if (states[k] === 'failed' || states[k] === 'completed') await queues.invitations.remove(id).catch(() => {});
            }),
          );
        }
      }
      // In chunks: one flow with thousands of children would block Redis for seconds.
      for (let i = 0; i < batches.length; i += CHUNK) {
        await queues.invitations.addBulk(
          batches.slice(i, i + CHUNK).map((batch) => ({ name: 'send', data: { rolloutId, batch }, opts: { jobId: batchJobId(rolloutId, batch) } })),
        );
      }
    },
    async queuedTriggers() {
      const jobs = await queues.rollouts.getJobs([...LIVE_JOB_STATES], 0, -1);
      return new Set(jobs.filter(Boolean).map((j) => (j.data as { rolloutId: string }).rolloutId));
    },
    async queuedBatches() {
      const jobs = await queues.invitations.getJobs([...LIVE_JOB_STATES], 0, -1);
      const out = new Map<string, Set<number>>();
      for (const j of jobs) {
        if (!j) continue;
        const { rolloutId, batch } = j.data as { rolloutId: string; batch: number };
        if (!out.has(rolloutId)) out.set(rolloutId, new Set());
        out.get(rolloutId)!.add(batch);
      }
      return out;
    },
  };
}
