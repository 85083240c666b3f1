import cron, { type ScheduledTask } from 'node-cron';
import type { Queue } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../src/config/load.js';
import type { Logger } from '../src/lib/logger.js';
import { enqueueSync } from './sync/enqueue.js';

/**
 * node-cron per connector with a `schedule`: each tick enqueues a sync job whose id is
 * derived from (connector, tick), so with several schedulers running each tick runs once.
 */
export function startScheduler(deps: { config: AppConfig; queue: Queue; em: () => EntityManager; log: Logger }): { stop(): Promise<void> } {
  const tasks: ScheduledTask[] = [];
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
