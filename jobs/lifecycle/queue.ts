import { z } from 'zod';

/**
 * The lifecycle queue: a rule's moment (its due plans become a rollout), an organization's
 * planned deactivations coming due, and the daily re-evaluation. PostgreSQL holds every plan;
 * these jobs only carry them in time, and the reconciler queues them again after a Redis loss.
 */
export const ruleMomentSchema = z.object({ ruleId: z.uuid(), at: z.iso.datetime() }).strict();
export const deactivationsSchema = z.object({ organizationId: z.string().min(1), at: z.iso.datetime() }).strict();
export const evaluateSchema = z.object({ organizationId: z.string().min(1), day: z.string().optional() }).strict();

/** Deterministic: the same moment queued twice (an evaluation, the reconciler) is one job. */
export function ruleMomentJobId(ruleId: string, at: Date): string {
  return `rule.${ruleId}.${at.getTime()}`;
}

export function deactivationsJobId(organizationId: string, at: Date): string {
  return `leavers.${organizationId}.${at.getTime()}`;
}

export function evaluateJobId(organizationId: string, day: string): string {
  return `evaluate.${organizationId}.${day}`;
}
