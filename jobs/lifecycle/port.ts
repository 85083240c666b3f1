import type { Queue } from 'bullmq';
import type { LifecycleQueuePort } from '../../src/rules/rule-types.js';
import { deactivationsJobId, ruleMomentJobId } from './queue.js';

/**
 * The rule and leaver services' view of the lifecycle queue: delayed jobs with ids derived from
 * what they carry, so queuing a moment again (each evaluation, each reconcile) adds nothing
 * while its job is waiting.
 */
export function bullmqLifecyclePort(queue: Queue, clock: () => Date = () => new Date()): LifecycleQueuePort {
  const delay = (at: Date) => Math.max(0, at.getTime() - clock().getTime());
  return {
    async scheduleRuleMoment(ruleId, at) {
      await queue.add('rule-moment', { ruleId, at: at.toISOString() }, { jobId: ruleMomentJobId(ruleId, at), delay: delay(at) });
    },
    async scheduleDeactivations(organizationId, at) {
      await queue.add('deactivate', { organizationId, at: at.toISOString() }, { jobId: deactivationsJobId(organizationId, at), delay: delay(at) });
    },
  };
}
