import { Worker } from 'bullmq';
import { createMailTransport } from '../../src/mail/create-mail-transport.js';
import type { MailTransport } from '../../src/mail/types.js';
import { connection } from '../queues.js';
import type { WorkerContext } from '../worker-context.js';
import { notificationProcessor } from './processor.js';
import { NOTIFICATION_QUEUE } from './queue.js';

/** The worker of outbound notifications (started with the others by jobs/workers.ts). */
export function startNotificationWorker(ctx: WorkerContext, opts: { transport?: MailTransport } = {}): { worker: Worker; close(): Promise<void> } {
  const { config, log } = ctx;
  let own: MailTransport | null = null;
  const transport = () => opts.transport ?? (own ??= createMailTransport({ smtpUrl: config.smtpUrl, outboxDir: config.outboxDir, logger: log }));
  const worker = new Worker(NOTIFICATION_QUEUE, notificationProcessor({ em: ctx.em, config, log, transport }), {
    connection: connection(config.redisUrl, 'worker'),
    prefix: config.queuePrefix,
    lockDuration: config.queueLockMs,
    stalledInterval: config.queueLockMs,
    concurrency: 8,
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'notification worker connection problem'));
  return {
    worker,
    async close() {
      await worker.close();
      await own?.close();
    },
  };
}
