import { Queue } from 'bullmq';
import { z } from 'zod';
import { NOTIFICATION_EVENT_TYPES } from '../../src/config/schema.js';
import type { NotificationQueuePort } from '../../src/notifications/notifier.js';
import { connection } from '../queues.js';

/** Outbound notifications: one job per (event, webhook endpoint) and one per (event, administrators' e-mail). */
export const NOTIFICATION_QUEUE = 'notifications';

export const notificationJobSchema = z
  .object({
    kind: z.enum(['webhook', 'email']),
    organizationId: z.string().min(1),
    endpointId: z.string().min(1).optional(),
    event: z
      .object({
        id: z.uuid(),
        type: z.enum(NOTIFICATION_EVENT_TYPES),
        organizationId: z.string().min(1),
        occurredAt: z.string(),
        data: z.record(z.string(), z.unknown()),
      })
      .strict(),
  })
  .strict();

export function createNotificationQueue(redisUrl: string, prefix: string): Queue {
  const q = new Queue(NOTIFICATION_QUEUE, { connection: connection(redisUrl, 'producer'), prefix, defaultJobOptions: { removeOnComplete: { count: 1_000 }, removeOnFail: { count: 1_000 } } });
  q.on('error', () => {});
  return q;
}

/** The notifier's port onto the queue: retries with exponential backoff (delay, 2×, 4×, …). */
export function bullmqNotificationPort(queue: () => Queue): NotificationQueuePort {
  return {
    async add(jobs) {
      await queue().addBulk(jobs.map((j) => ({ name: j.data.kind, data: j.data, opts: { jobId: j.jobId, attempts: j.attempts, backoff: { type: 'exponential', delay: j.backoffMs } } })));
    },
  };
}
