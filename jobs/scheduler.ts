import cron, { type ScheduledTask } from 'node-cron';
import type { Queue } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../src/config/load.js';
import type { Logger } from '../src/lib/logger.js';
import { evaluateJobId } from './lifecycle/queue.js';
import { enqueueSync } from './sync/enqueue.js';

/** The daily re-evaluation of invitation rules and leavers (UTC): start dates entering the window, a missed sync. */
export const DAILY_LIFECYCLE_SCHEDULE = '10 0 * * *';

/**
 * node-cron per connector with a `schedule`: each tick enqueues a sync job whose id is
 * derived from (connector, tick), so with several schedulers running each tick runs once.
 */
export function startScheduler(deps: { config: AppConfig; queue: Queue; em: () => EntityManager; log: Logger; lifecycleQueue?: Queue }): { stop(): Promise<void> } {
  const tasks: ScheduledTask[] = [];
  const lifecycle = deps.lifecycleQueue;
  if (lifecycle) {
    // One job per organization and day (its id derived from both): several schedulers, one evaluation.
    tasks.push(
      cron.schedule(
        DAILY_LIFECYCLE_SCHEDULE,
        async (ctx) => {
          const day = new Date(ctx.date ?? Date.now()).toISOString().slice(0, 10);
          for (const org of deps.config.organizations) {
            await lifecycle
              .add('evaluate', { organizationId: org.id, day }, { jobId: evaluateJobId(org.id, day) })
              .catch((err: Error) => deps.log.error({ organizationId: org.id, err: err.message }, 'daily lifecycle evaluation not queued'));
          }
        },
        { timezone: 'UTC', name: 'lifecycle:daily' },
      ),
    );
  }
  for (const org of deps.config.organizations) {
    for (const c of org.connectors) {
      if (!c.schedule) continue;
      const task = cron.schedule(
        c.schedule,
        async (ctx) => {
          // The tick's own time, to the second, identical on every scheduler.
          const tick = new Date(Math.floor(new Date(ctx.date ?? Date.now()).getTime() / 1000) * 1000);
          try {
            const r = await enqueueSync(deps.em(), deps.queue, { connectorId: c.id, trigger: 'schedule', tick });
            if (!r.duplicate) deps.log.info({ connectorId: c.id, runId: r.runId, tick: tick.toISOString() }, 'scheduled sync queued');
          } catch (err) {
            deps.log.error({ connectorId: c.id, err: (err as Error).message }, 'scheduled sync not queued');
          }
        },
        { timezone: c.timezone, name: `sync:${c.id}` },
      );
      tasks.push(task);
      deps.log.info({ connectorId: c.id, schedule: c.schedule, timezone: c.timezone ?? 'local' }, 'sync scheduled');
    }
  }
  return {
    async stop() {
      for (const t of tasks) await t.stop();
    },
  };
}
