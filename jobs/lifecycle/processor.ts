import type { Job } from 'bullmq';
import type { LeaverService } from '../../src/lifecycle/leaver-service.js';
import type { Logger } from '../../src/lib/logger.js';
import type { RuleService } from '../../src/rules/rule-service.js';
import { waitForDatabaseIfAway } from '../database-wait.js';
import { deactivationsSchema, evaluateSchema, ruleMomentSchema } from './queue.js';

/** Runs the lifecycle jobs: a rule's moment, due leavers, the daily evaluation of an organization. */
export function lifecycleProcessor(deps: { rules: RuleService; leavers: LeaverService; log: Logger }) {
  return async (job: Job, token?: string): Promise<unknown> => {
    try {
      switch (job.name) {
        case 'rule-moment': {
          const { ruleId } = ruleMomentSchema.parse(job.data);
          return { rollouts: await deps.rules.fire(ruleId) };
        }
        case 'deactivate': {
          const { organizationId } = deactivationsSchema.parse(job.data);
          return await deps.leavers.applyDue(organizationId);
        }
        case 'evaluate': {
          const { organizationId } = evaluateSchema.parse(job.data);
          return await evaluateOrganization(deps, organizationId);
        }
        default:
          deps.log.warn({ queue: 'lifecycle', jobId: job.id, name: job.name }, 'unknown lifecycle job');
          return null;
      }
    } catch (err) {
      await waitForDatabaseIfAway(job, token, err);
      throw err;
    }
  };
}

/** After a sync of the organization, and daily: its rules and leavers re-planned from HR as it is now. */
export async function evaluateOrganization(deps: { rules: RuleService; leavers: LeaverService; log: Logger }, organizationId: string, now = new Date()): Promise<{ rules: number; plannedInvitations: number; plannedDeactivations: number }> {
  const r = await deps.rules.evaluateOrganization(organizationId, now);
  const l = await deps.leavers.evaluate(organizationId, now);
  deps.log.debug({ organizationId, rules: r.rules, plannedInvitations: r.planned, plannedDeactivations: l.planned }, 'lifecycle evaluated');
  return { rules: r.rules, plannedInvitations: r.planned, plannedDeactivations: l.planned };
}

/**
 * Re-plans an organization after its syncs and pushed changes, coalesced: while one evaluation
 * of the organization runs, further requests make it run once more afterwards (a burst of
 * webhook batches costs two evaluations, not one each).
 */
export function coalescedEvaluation(deps: { rules: RuleService; leavers: LeaverService; log: Logger }): (organizationId: string) => Promise<void> {
  const running = new Map<string, Promise<void>>();
  const again = new Set<string>();
  return (organizationId) => {
    const current = running.get(organizationId);
    if (current) {
      again.add(organizationId);
      return current;
    }
    const p = (async () => {
      do {
        again.delete(organizationId);
        await evaluateOrganization(deps, organizationId);
      } while (again.has(organizationId));
    })().finally(() => running.delete(organizationId));
    running.set(organizationId, p);
    return p;
  };
}
