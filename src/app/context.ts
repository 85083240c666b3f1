import type { EntityManager } from '@mikro-orm/postgresql';
import { createQueues, type Queues } from '../../jobs/queues.js';
import { bullmqRolloutPort } from '../../jobs/queue-port.js';
import { lifecycleServices } from '../../jobs/lifecycle/services.js';
import type { LeaverService } from '../lifecycle/leaver-service.js';
import type { RuleService } from '../rules/rule-service.js';
import { enqueueSync } from '../../jobs/sync/enqueue.js';
import { createWebhookQueue, enqueueWebhookEvents } from '../../jobs/webhooks/queue.js';
import type { Queue } from 'bullmq';
import type { EnqueueWebhookEvents } from '../http/deps.js';
import type { WorkerContext } from '../../jobs/worker-context.js';
import { loadConfig, type AppConfig } from '../config/load.js';
import { reminderDefaults, rolloutSettings } from '../config/rollout-settings.js';
import { syncConfigToStore } from '../db/config-store.js';
import { openStore } from '../db/orm.js';
import { RolloutService } from '../invitations/rollout-service.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { SyncEngine } from '../sync/sync-engine.js';
import type { SyncRunRecord } from '../sync/run-record.js';
import { Notifier } from '../notifications/notifier.js';
import { leaversHeldEvent, runFinishedEvents } from '../notifications/state-events.js';
import { bullmqNotificationPort, createNotificationQueue } from '../../jobs/notifications/queue.js';

/**
 * Everything a face (CLI, HTTP, worker) needs, built once per process. With src/cli/start.ts
 * this is the composition root: the one place that knows both jobs/ (the queues) and the
 * rest of src/; faces get what they need from here as plain values and functions.
 */
export interface AppContext extends WorkerContext {
  /** BullMQ queues (producer side), opened on first use. */
  queues(): Queues;
  /** Rollouts and invitations, opened on first use (they need the queues). */
  rollouts(): RolloutService;
  /** Invitation rules (src/rules), opened on first use. */
  rules(): RuleService;
  /** Leavers' planned deactivations (src/lifecycle), opened on first use. */
  leavers(): LeaverService;
  /** Records a queued sync run and puts its job on the sync queue. */
  enqueueSync(opts: Parameters<typeof enqueueSync>[2]): ReturnType<typeof enqueueSync>;
  /** Queues the people a webhook names (the webhook queue is opened on first use). */
  enqueueWebhookEvents: EnqueueWebhookEvents;
  notifier: Notifier;
  /** A run's end, as the notifications hear of it (given to the pushed runs: SCIM, webhooks). */
  onFinished: (run: SyncRunRecord, info: { errorCode: string | null }) => void;
  close(): Promise<void>;
}

export async function createContext(opts: { env?: Record<string, string | undefined>; log?: Logger; config?: AppConfig; cwd?: string } = {}): Promise<AppContext> {
  const config = opts.config ?? loadConfig(opts.env ?? process.env, opts.cwd);
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const orm = await openStore(config.databaseUrl, log);
  const em = () => orm.em.fork() as EntityManager;
  await syncConfigToStore(em(), config);
  let notificationQueue: Queue | null = null;
  const notifier = new Notifier({ em, config, log, queue: bullmqNotificationPort(() => (notificationQueue ??= createNotificationQueue(config.redisUrl, config.queuePrefix))) });
  // A run's end tells the administrators what needs them (held, failed); sync itself knows nothing of it.
  const onFinished = (run: SyncRunRecord, info: { errorCode: string | null }) => {
    for (const e of runFinishedEvents(run, info)) notifier.emitSafely(e);
  };
  const sync = new SyncEngine({ orm, config, log, onFinished });
  let queues: Queues | null = null;
  let rollouts: RolloutService | null = null;
  let lifecycle: ReturnType<typeof lifecycleServices> | null = null;
  let webhookQueue: Queue | null = null;
  const getQueues = () => (queues ??= createQueues(config.redisUrl, config.queuePrefix));
  const getRollouts = () =>
    (rollouts ??= new RolloutService({ orm, log, queues: bullmqRolloutPort(getQueues()), settings: rolloutSettings(config), reminderDefault: reminderDefaults(config) }));
  return {
    config,
    log,
    orm,
    sync,
    em,
    notifier,
    onFinished,
    queues: getQueues,
    enqueueSync: (o) => enqueueSync(em(), getQueues().sync, o),
    enqueueWebhookEvents: (connectorId, events, debounceMs) =>
      enqueueWebhookEvents((webhookQueue ??= createWebhookQueue(config.redisUrl, config.queuePrefix)), connectorId, events, debounceMs),
    rollouts: getRollouts,
    rules() {
      return (lifecycle ??= lifecycleServices({ config, orm, log, queues: getQueues, rollouts: getRollouts, onLeaversHeld: (h) => notifier.emitSafely(leaversHeldEvent(h)) })).rules;
    },
    leavers() {
      return (lifecycle ??= lifecycleServices({ config, orm, log, queues: getQueues, rollouts: getRollouts, onLeaversHeld: (h) => notifier.emitSafely(leaversHeldEvent(h)) })).leavers;
    },
    async close() {
      await notifier.idle();
      await queues?.close();
      await webhookQueue?.close();
      await notificationQueue?.close();
      await orm.close(true);
    },
  };
}
