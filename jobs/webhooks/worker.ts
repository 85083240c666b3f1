import { Worker } from 'bullmq';
import type { WorkerContext } from '../worker-context.js';
import type { LookupRunDeps } from '../../src/sync/targeted-lookup.js';
import { connection } from '../queues.js';
import { webhookProcessor } from './processor.js';
import { WEBHOOK_QUEUE } from './queue.js';

/** The worker of webhook events (started with the others by jobs/workers.ts). */
export function startWebhookWorker(ctx: WorkerContext, opts: { resolveConnector?: LookupRunDeps['resolveConnector']; concurrency?: number; afterRun?: (connectorId: string) => Promise<void> } = {}): Worker {
  const { config, log } = ctx;
  const w = new Worker(WEBHOOK_QUEUE, webhookProcessor({ em: ctx.em, config, log, resolveConnector: opts.resolveConnector, onFinished: ctx.onFinished }, log, opts.afterRun), {
    connection: connection(config.redisUrl, 'worker'),
    prefix: config.queuePrefix,
    lockDuration: config.queueLockMs,
    stalledInterval: config.queueLockMs,
    concurrency: opts.concurrency ?? 8,
  });
  w.on('error', (err) => log.warn({ err: err.message }, 'webhook worker connection problem'));
  return w;
}
