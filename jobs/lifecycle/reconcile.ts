import type { LeaverService } from '../../src/lifecycle/leaver-service.js';
import type { Logger } from '../../src/lib/logger.js';
import type { RuleService } from '../../src/rules/rule-service.js';
import type { LifecycleQueuePort } from '../../src/rules/rule-types.js';

/**
 * The store is the truth for planned invitations and deactivations too: every moment still
 * planned is queued again (a no-op while its job waits; after a Redis loss, the job is back —
 * a moment already past runs at once).
 */
export async function reconcileLifecycle(deps: { rules: RuleService; leavers: LeaverService; port: LifecycleQueuePort; log: Logger }): Promise<{ moments: number }> {
  const [rules, leavers] = await Promise.all([deps.rules.plannedMoments(), deps.leavers.plannedMoments()]);
  for (const m of rules) await deps.port.scheduleRuleMoment(m.ruleId, m.at);
  for (const m of leavers) await deps.port.scheduleDeactivations(m.organizationId, m.at);
  return { moments: rules.length + leavers.length };
}
