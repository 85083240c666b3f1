import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';

/**
 * Queue names. The key prefix (config.queuePrefix, from HRSYNC_QUEUE_PREFIX) is a Redis
 * Cluster hash tag (`{…}`), so every key of every queue lands in one slot, as BullMQ
 * requires on a cluster.
 */
export const QUEUE_NAMES = { sync: 'sync', rollouts: 'rollouts', invitations: 'invitations', lifecycle: 'lifecycle' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** The states of a job that is still to run or running: while a job is in one, adding its id again is a no-op. */
export const LIVE_JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

export function isLiveJobState(state: string): boolean {
  return (LIVE_JOB_STATES as readonly string[]).includes(state);
}

/** Workers block on Redis and must never give up a command; producers fail fast. */
export function connection(redisUrl: string, kind: 'worker' | 'producer'): ConnectionOptions {
  return kind === 'worker'
    ? { url: redisUrl, maxRetriesPerRequest: null }
    : { url: redisUrl, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 5_000 };
}

export const DEFAULT_JOB_OPTIONS: Record<QueueName, JobsOptions> = {
  sync: { attempts: 1, removeOnComplete: { count: 500 }, removeOnFail: { count: 500 } },
  rollouts: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true, removeOnFail: { count: 500 } },
  invitations: { attempts: 8, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true, removeOnFail: { count: 1_000 } },
  // rule moments, planned deactivations, daily evaluations: the store holds them, the reconciler queues them again
  lifecycle: { attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, removeOnComplete: true, removeOnFail: true },
};

export interface Queues {
  sync: Queue;
  rollouts: Queue;
  invitations: Queue;
  lifecycle: Queue;
  prefix: string;
  close(): Promise<void>;
}

export function createQueues(redisUrl: string, prefix: string): Queues {
  const opts = (name: QueueName) => ({ connection: connection(redisUrl, 'producer'), prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS[name] });
  const sync = new Queue(QUEUE_NAMES.sync, opts('sync'));
  const rollouts = new Queue(QUEUE_NAMES.rollouts, opts('rollouts'));
  const invitations = new Queue(QUEUE_NAMES.invitations, opts('invitations'));
  const lifecycle = new Queue(QUEUE_NAMES.lifecycle, opts('lifecycle'));
  for (const q of [sync, rollouts, invitations, lifecycle]) q.on('error', () => {});
  return {
    sync,
    rollouts,
    invitations,
    lifecycle,
    prefix,
    async close() {
      await Promise.all([sync.close(), rollouts.close(), invitations.close(), lifecycle.close()]);
    },
  };
}
