import { Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { reminderDefaults, rolloutSettings } from '../src/config/rollout-settings.js';
import { sendDueReminders } from '../src/invitations/reminders.js';
import type { LeaverService } from '../src/lifecycle/leaver-service.js';
import type { RuleService } from '../src/rules/rule-service.js';
import { coalescedEvaluation, lifecycleProcessor } from './lifecycle/processor.js';
import { reconcileLifecycle } from './lifecycle/reconcile.js';
import { lifecycleServices } from './lifecycle/services.js';
import { RolloutService, type MailPort } from '../src/invitations/rollout-service.js';
import { InvitationMailer } from '../src/invitations/invitation-mailer.js';
import { compileInvitationTemplates } from '../src/mail/invitation-template.js';
import { createMailTransport } from '../src/mail/create-mail-transport.js';
import type { MailTransport } from '../src/mail/types.js';
import { bullmqRolloutPort } from './queue-port.js';
import { connection, QUEUE_NAMES } from './queues.js';
import type { WorkerContext } from './worker-context.js';
import { invitationBatchProcessor } from './invitations/processor.js';
import { invitationBatchSchema } from './invitations/queue.js';
import { rolloutTriggerProcessor } from './rollouts/processor.js';
import { redisRateLimiter } from './rate-limit.js';
import { syncProcessor } from './sync/processor.js';
import { startWebhookWorker } from './webhooks/worker.js';
import { startHistoryPruner } from './history-prune.js';
import { startNotificationWorker } from './notifications/worker.js';
import { leaversHeldEvent, rolloutStateEvent } from '../src/notifications/state-events.js';
import { errorMessage } from '../src/lib/errors.js';
import { reconcileSyncRuns } from './sync/reconcile.js';
import { tryLockBatch } from '../src/invitations/batch-lock.js';

/** How often a batch job may stall (its worker died) before BullMQ fails it; the reconciler then queues it again. */
export const BATCH_MAX_STALLED = 10;
/** After Redis reconnects, the reconcile waits this long for the queues' own connections. */
const RECONCILE_AFTER_RECONNECT_MS = 1_000;

export interface RunningWorkers {
  rollouts: RolloutService;
  rules: RuleService;
  leavers: LeaverService;
  /** Stop taking jobs, let running ones finish within the grace period, then close. */
  close(graceMs?: number): Promise<void>;
  reconcileNow(): Promise<void>;
}

/**
 * The one place that starts the queue workers: rollout triggers and invitation batches,
 * plus the reconciler that rebuilds lost queue entries from PostgreSQL on start and
 * periodically. Templates are compiled once here.
 */
export async function startWorkers(ctx: WorkerContext, opts: { mail?: MailPort; transport?: MailTransport; clock?: () => Date } = {}): Promise<RunningWorkers> {
  const { config, log } = ctx;
  const queues = ctx.queues();
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  redis.on('error', () => {});
  // one quota for invitations and reminders
  const rateLimit = redisRateLimiter(redis, `${config.queuePrefix}:mail-rate`, config.invitations.ratePerSecond, { chunk: config.invitations.chunkSize });
  const rollouts = new RolloutService({
    orm: ctx.orm,
    log,
    queues: bullmqRolloutPort(queues),
    settings: rolloutSettings(config),
    rateLimit,
    lockBatch: (rolloutId, batch) => tryLockBatch(config.databaseUrl, rolloutId, batch),
    reminderDefault: reminderDefaults(config),
  });
  // clock: the lifecycle's time (rule moments, leavers' days, reminders), injectable for tests
  const clock = opts.clock ?? (() => new Date());
  const { rules, leavers, port: lifecyclePort } = lifecycleServices({ config, orm: ctx.orm, log, queues: () => queues, rollouts: () => rollouts, clock, onLeaversHeld: ctx.notifier ? (h) => ctx.notifier!.emitSafely(leaversHeldEvent(h)) : undefined });
  let transport: MailTransport | null = null;
  let mail = opts.mail;
  if (!mail) {
    const templates = await compileInvitationTemplates({ from: config.mailFrom });
    transport = opts.transport ?? createMailTransport({ smtpUrl: config.smtpUrl, outboxDir: config.outboxDir, logger: log });
    mail = new InvitationMailer(templates, transport, config.appUrl);
    log.info({ transport: transport.kind, outbox: transport.kind === 'file' ? config.outboxDir : undefined }, 'invitation mail ready');
  }

  // A job whose worker died is taken up again once its lock expires (and the stalled check runs).
  const lockDuration = config.queueLockMs;
  const base = { connection: connection(config.redisUrl, 'worker'), prefix: config.queuePrefix, lockDuration, stalledInterval: lockDuration };
  const triggerWorker = new Worker(QUEUE_NAMES.rollouts, rolloutTriggerProcessor(rollouts, log), { ...base, concurrency: 2 });
  // Syncs hold their connector's advisory lock for the whole run: one run per connector at a time across all workers.
  // After each run, the jobs layer (not the sync engine) re-plans the organization's rules and leavers.
  const evaluate = coalescedEvaluation({ rules, leavers, log });
  const afterSync = (run: { organizationId: string }) => evaluate(run.organizationId);
  const syncWorker = new Worker(QUEUE_NAMES.sync, syncProcessor(ctx.sync, ctx.em, log, afterSync), { ...base, concurrency: 2 });
  const lifecycleWorker = new Worker(QUEUE_NAMES.lifecycle, lifecycleProcessor({ rules, leavers, log }), { ...base, concurrency: 2 });
  // A worker killed mid-batch is expected (deploys, the OOM killer), and a batch is safe to run
  // again (guarded claims, one sender per batch): BullMQ's default of failing a job that stalled
  // twice would fail a batch that was merely unlucky twice.
  const batchWorker = new Worker(QUEUE_NAMES.invitations, invitationBatchProcessor(rollouts, mail, log, {
    // A batch that paused, failed or completed its rollout: the administrators are told (issue 19).
    onBatchDone: ctx.notifier ? (rolloutId) => void rolloutStateEvent(ctx.em(), rolloutId).then((e) => e && ctx.notifier!.emitSafely(e)).catch(() => {}) : undefined,
  }), { ...base, concurrency: config.invitations.concurrency, maxStalledCount: BATCH_MAX_STALLED });
  batchWorker.on('failed', (job: Job | undefined, err) => {
    if (!job) return;
    const attempts = job.opts.attempts ?? 1;
    // errorMessage: a database error's message starts with the statement and its parameters.
    log.warn({ queue: 'invitations', jobId: job.id, attemptsMade: job.attemptsMade, attempts, err: errorMessage(err) }, 'batch job failed');
    if (job.attemptsMade >= attempts) {
      const data = invitationBatchSchema.safeParse(job.data);
      if (data.success) {
        void rollouts.failBatch(data.data.rolloutId, data.data.batch, 'retries_exhausted')
          .then(async () => {
            const e = ctx.notifier ? await rolloutStateEvent(ctx.em(), data.data.rolloutId) : null;
            if (e) ctx.notifier!.emitSafely(e);
          })
          .catch(() => {});
      }
    }
  });
  const organizationOf = (connectorId: string) => config.organizations.find((o) => o.connectors.some((c) => c.id === connectorId))?.id;
  // issue 18: webhook events → look-up by id → targeted run; then, as after a sync, the rules re-planned
  const webhookWorker = startWebhookWorker(ctx, {
    afterRun: async (connectorId) => {
      const org = organizationOf(connectorId);
      if (org) await evaluate(org);
    },
  });
  const historyPruner = startHistoryPruner(ctx); // issue 19: user_events past the retention
  const notificationWorker = startNotificationWorker(ctx, { transport: opts.transport ?? transport ?? undefined }); // issue 19: outbound notifications
  for (const w of [triggerWorker, batchWorker, syncWorker, lifecycleWorker]) w.on('error', (err) => log.warn({ err: err.message }, 'worker connection problem'));

  let reconciling: Promise<void> | null = null;
  const reconcileNow = async () => {
    if (reconciling) return reconciling;
    const warn = (err: unknown) => log.warn({ err: (err as Error).message }, 'reconcile failed; will try again');
    reconciling = Promise.all([
      rollouts.reconcile().catch(warn),
      reconcileSyncRuns(ctx.em(), queues.sync, log).catch(warn),
      reconcileLifecycle({ rules, leavers, port: lifecyclePort, log }).catch(warn),
      sendDueReminders({ orm: ctx.orm, log, rateLimit }, mail!, clock()).catch(warn),
    ])
      .then(() => undefined)
      .finally(() => (reconciling = null));
    return reconciling;
  };
  await reconcileNow();
  const timer = setInterval(() => void reconcileNow(), config.invitations.reconcileEverySeconds * 1000);
  timer.unref();
  // Redis back after losing its connection: it may have lost its data too (a restart: nothing is
  // kept on disk). Reconcile then, rather than up to reconcileEverySeconds later; once the
  // producers have reconnected as well (a reconcile that finds them not ready fails and waits for the timer).
  let wasReady = redis.status === 'ready';
  let reconnectTimer: NodeJS.Timeout | null = null;
  redis.on('ready', () => {
    if (!wasReady) {
      wasReady = true;
      return;
    }
    log.info('Redis is back; reconciling the queues from the store');
    if (reconnectTimer) clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(() => void reconcileNow(), RECONCILE_AFTER_RECONNECT_MS);
    reconnectTimer.unref();
  });

  return {
    rollouts,
    rules,
    leavers,
    reconcileNow,
    async close(graceMs = 25_000) {
      clearInterval(timer);
      historyPruner.stop();
      if (reconnectTimer) clearTimeout(reconnectTimer);
      const closing = Promise.all([triggerWorker.close(), batchWorker.close(), syncWorker.close(), lifecycleWorker.close(), webhookWorker.close(), notificationWorker.close()]);
      // Batches stop between messages: what they did not send stays pending for the reconciler.
      batchWorker.cancelAllJobs('shutting down');
      const timedOut = await Promise.race([closing.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
      if (timedOut) {
        log.warn({ graceMs }, 'jobs still running after the grace period; closing anyway (their messages return to pending)');
        await Promise.all([triggerWorker.close(true), batchWorker.close(true), syncWorker.close(true), lifecycleWorker.close(true), webhookWorker.close(true), notificationWorker.worker.close(true)]);
      }
      await reconciling;
      await transport?.close();
      redis.disconnect();
    },
  };
}
