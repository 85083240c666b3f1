import { z } from 'zod';

/** The trigger of a rollout: a delayed job that fires at sendAt. */
export const rolloutTriggerSchema = z.object({ rolloutId: z.uuid() }).strict();
export type RolloutTriggerData = z.infer<typeof rolloutTriggerSchema>;

/** Deterministic per rollout: a trigger queued twice is one job. */
export function triggerJobId(rolloutId: string): string {
  return `trigger.${rolloutId}`;
}
