import type { AppConfig } from '../../src/config/load.js';
import { reminderDefaults } from '../../src/config/rollout-settings.js';
import type { Orm } from '../../src/db/orm.js';
import type { RolloutService } from '../../src/invitations/rollout-service.js';
import { LeaverService, type LeaversHeld } from '../../src/lifecycle/leaver-service.js';
import type { Logger } from '../../src/lib/logger.js';
import { RuleService } from '../../src/rules/rule-service.js';
import type { LifecycleQueuePort } from '../../src/rules/rule-types.js';
import type { Queues } from '../queues.js';
import { bullmqLifecyclePort } from './port.js';

/** The rule and leaver services over the lifecycle queue (for the workers and the composition root alike). */
export function lifecycleServices(deps: { config: AppConfig; orm: Orm; log: Logger; queues: () => Queues; rollouts: () => RolloutService; clock?: () => Date; onLeaversHeld?: (held: LeaversHeld) => void }): { rules: RuleService; leavers: LeaverService; port: LifecycleQueuePort } {
  const port = {
    scheduleRuleMoment: (ruleId: string, at: Date) => bullmqLifecyclePort(deps.queues().lifecycle, deps.clock).scheduleRuleMoment(ruleId, at),
    scheduleDeactivations: (organizationId: string, at: Date) => bullmqLifecyclePort(deps.queues().lifecycle, deps.clock).scheduleDeactivations(organizationId, at),
  };
  const rules = new RuleService({ orm: deps.orm, log: deps.log, queues: port, rollouts: deps.rollouts, reminderDefault: reminderDefaults(deps.config), clock: deps.clock });
  const leavers = new LeaverService({ orm: deps.orm, log: deps.log, config: deps.config, queues: port, clock: deps.clock, onHeld: deps.onLeaversHeld });
  return { rules, leavers, port };
}
