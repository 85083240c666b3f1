import type pg from 'pg';
import type { AppConfig } from '../../src/config/load.js';
import type { Orm } from '../../src/db/orm.js';
import { LeaverService } from '../../src/lifecycle/leaver-service.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { RolloutService } from '../../src/invitations/rollout-service.js';
import { RuleService } from '../../src/rules/rule-service.js';

/**
 * Rule evaluation after a sync (issue 17), for bench/sync.bench.ts: three enabled rules (everyone
 * with a start date, one location, one group) and the leavers of the organization, re-planned
 * as the sync job's hook does. Queues are a no-op here: what is timed is the store's work.
 */
export function ruleBench(orm: Orm, config: AppConfig, organizationId: string) {
  const queues = { scheduleRuleMoment: async () => {}, scheduleDeactivations: async () => {} };
  const rules = new RuleService({ orm, log: silentLogger, queues, rollouts: () => ({}) as RolloutService });
  const leavers = new LeaverService({ orm, log: silentLogger, config, queues });
  return {
    /** ~2% of the active users get a start date in the next 60 days, ~0.5% an end date in the next 30 (untimed). */
    async prepare(db: pg.Client, location: string, group: string): Promise<void> {
      await db.query(
        `update users set start_date = current_date + (seq % 60)::int where organization_id = $1 and status = 'active' and seq % 50 = 0`,
        [organizationId],
      );
      await db.query(
        `update users set end_date = current_date + (seq % 30)::int + 1 where organization_id = $1 and status = 'active' and seq % 200 = 7`,
        [organizationId],
      );
      for (const [name, filter] of [['everyone', {}], ['one location', { location }], ['one group', { group }]] as const) {
        await rules.create(organizationId, { name, filter, daysBefore: 3, localTime: '09:00', loginMethod: 'sso', enabled: true }, 'bench');
      }
    },
    /** What the sync job's hook does after a run: every rule and the leavers re-planned. */
    async evaluate(): Promise<string> {
      const r = await rules.evaluateOrganization(organizationId);
      const l = await leavers.evaluate(organizationId);
      return `(${r.rules} rules, ${r.planned} planned invitations, ${l.planned} planned deactivations)`;
    },
  };
}
