import { z } from 'zod';

/** One batch of a rollout's invitations: rendered and sent a few at a time. */
export const invitationBatchSchema = z.object({ rolloutId: z.uuid(), batch: z.number().int().min(0) }).strict();
export type InvitationBatchData = z.infer<typeof invitationBatchSchema>;

/** Deterministic: while a batch's job exists, queuing it again is a no-op, so no batch runs twice at once. */
export function batchJobId(rolloutId: string, batch: number): string {
  return `batch.${rolloutId}.${batch}`;
}
