import { z } from 'zod';
import { scopeRuleSchema } from '../../src/config/schema.js';

/** One sync run of one connector. */
export const syncJobSchema = z
  .object({
    connectorId: z.string().min(1),
    runId: z.uuid(),
    trigger: z.enum(['manual', 'schedule', 'api']),
    dryRun: z.boolean().default(false),
    /** the cron tick this job stands for (schedule only) */
    tick: z.string().optional(),
    /** dry runs: plan with these scoping rules instead of the connector's */
    scope: z.object({ include: z.array(scopeRuleSchema).default([]), exclude: z.array(scopeRuleSchema).default([]) }).strict().optional(),
  })
  .strict();
export type SyncJobData = z.infer<typeof syncJobSchema>;

/** Deterministic per connector and tick: two schedulers firing the same tick enqueue one job. */
export function scheduledSyncJobId(connectorId: string, tick: Date): string {
  return `sync.${connectorId}.${tick.toISOString().replace(/[:.]/g, '-')}`;
}

export function manualSyncJobId(connectorId: string, runId: string): string {
  return `sync.${connectorId}.run-${runId}`;
}
