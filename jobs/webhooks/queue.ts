import { createHash, randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { WebhookEvent } from '../../connectors/webhook.js';
import { connection } from '../queues.js';

/** Webhook events waiting for their look-up by id: one job per (connector, person), debounced. */
export const WEBHOOK_QUEUE = 'webhooks';

export const webhookJobSchema = z
  .object({
    connectorId: z.string().min(1),
    externalId: z.string().min(1).max(255),
    kind: z.enum(['changed', 'deleted']),
    /** tells the job this request added from one that was already there */
    nonce: z.string(),
  })
  .strict();
export type WebhookJobData = z.infer<typeof webhookJobSchema>;

export const WEBHOOK_JOB_OPTIONS: JobsOptions = {
  // a full run holding the connector, a vendor API down: try again, for up to ~an hour
  attempts: 12,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: true,
  removeOnFail: { count: 1_000 },
};

export function createWebhookQueue(redisUrl: string, prefix: string): Queue {
  const q = new Queue(WEBHOOK_QUEUE, { connection: connection(redisUrl, 'producer'), prefix, defaultJobOptions: WEBHOOK_JOB_OPTIONS });
  q.on('error', () => {});
  return q;
}

/** Deterministic per person: a second event while the first still waits is the same job. */
export function webhookJobId(connectorId: string, externalId: string): string {
  return `hook.${connectorId}.${createHash('sha256').update(externalId).digest('base64url').slice(0, 22)}`;
}

/**
 * Queues one look-up per person named, after `debounceMs`: events for someone whose job is
 * still waiting add nothing (they are deduplicated); an event arriving while that person's job
 * runs (or after it failed) gets a job of its own, so no change is missed.
 */
export async function enqueueWebhookEvents(queue: Queue, connectorId: string, events: WebhookEvent[], debounceMs: number): Promise<number> {
  const byId = new Map<string, WebhookEvent>();
  for (const e of events) {
    const prev = byId.get(e.externalId);
    byId.set(e.externalId, prev?.kind === 'deleted' ? prev : e);
  }
  let added = 0;
  for (const e of byId.values()) {
    const nonce = randomUUID();
    const data: WebhookJobData = { connectorId, externalId: e.externalId, kind: e.kind, nonce };
    const jobId = webhookJobId(connectorId, e.externalId);
    const job = await queue.add('event', data, { jobId, delay: debounceMs });
    if ((job.data as WebhookJobData).nonce === nonce) {
      added++;
      continue;
    }
    const state = await job.getState();
    if (state === 'active' || state === 'completed' || state === 'failed') {
      await queue.add('event', data, { jobId: `${jobId}.${Date.now()}.${nonce.slice(0, 8)}`, delay: debounceMs });
      added++;
    }
  }
  return added;
}
