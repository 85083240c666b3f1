/** A sync run's states, as the sync_runs.status check constraint allows them. */
export const SYNC_RUN_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'needs_approval', 'approved', 'rejected', 'skipped'] as const;
export type SyncRunStatus = (typeof SYNC_RUN_STATUSES)[number];

/** What a sync run counted (sync_runs.counts). */
export interface SyncCounts {
  seen: number;
  created: number;
  updated: number;
  unchanged: number;
  deactivated: number;
  reactivated: number;
  rejected: number;
  skipped: number;
  heldDeactivations: number;
  /** Absent from a complete listing, looked up by id at the HR system and found there, active: not deactivated. */
  confirmedPresent: number;
}
