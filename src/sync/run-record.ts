import type { EntityManager } from '@mikro-orm/postgresql';
import type { SyncCounts, SyncRunStatus } from '../db/sync-run-types.js';
import { sql, sqlOne } from '../db/sql.js';

/** A sync run as CLI `--json` and HTTP show it (interfaces.md). */
export interface SyncRunRecord {
  id: string;
  organizationId: string;
  connectorId: string;
  trigger: 'manual' | 'schedule' | 'api' | 'webhook' | 'scim' | 'on_demand';
  dryRun: boolean;
  mode: 'full' | 'incremental';
  status: SyncRunStatus;
  counts: SyncCounts;
  rejected: Array<{ externalId: string | null; reason: string; detail: string | null }>;
  rejectedTruncated?: boolean;
  heldReason: string | null;
  examples?: Record<string, unknown> | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  approvedAt?: string | null;
}

export function emptyCounts(): SyncCounts {
  return { seen: 0, created: 0, updated: 0, unchanged: 0, deactivated: 0, reactivated: 0, rejected: 0, skipped: 0, heldDeactivations: 0, confirmedPresent: 0 };
}

interface RunRow {
  id: string;
  organization_id: string;
  connector_id: string;
  trigger: SyncRunRecord['trigger'];
  dry_run: boolean;
  mode: SyncRunRecord['mode'];
  status: SyncRunStatus;
  counts: SyncCounts;
  examples: Record<string, unknown> | null;
  error: string | null;
  held_reason: string | null;
  started_at: Date;
  finished_at: Date | null;
  approved_at: Date | null;
}

export async function loadRunRecord(em: EntityManager, runId: string, opts: { rejectedLimit?: number; organizationId?: string } = {}): Promise<SyncRunRecord | null> {
  if (!/^[0-9a-f-]{36}$/i.test(runId)) return null;
  const row = await sqlOne<RunRow>(
    em,
    `select * from sync_runs where id = ?${opts.organizationId ? ' and organization_id = ?' : ''}`,
    opts.organizationId ? [runId, opts.organizationId] : [runId],
  );
  if (!row) return null;
  const limit = opts.rejectedLimit ?? 1000;
  const rejected = await sql<{ external_id: string | null; reason: string; detail: string | null }>(
    em,
    `select external_id, reason, detail from sync_run_rejections where run_id = ? order by id limit ?`,
    [runId, limit + 1],
  );
  const record: SyncRunRecord = {
    id: row.id,
    organizationId: row.organization_id,
    connectorId: row.connector_id,
    trigger: row.trigger,
    dryRun: row.dry_run,
    mode: row.mode,
    status: row.status,
    counts: { ...emptyCounts(), ...row.counts },
    rejected: rejected.slice(0, limit).map((r) => ({ externalId: r.external_id, reason: r.reason, detail: r.detail })),
    heldReason: row.held_reason,
    error: row.error,
    startedAt: new Date(row.started_at).toISOString(),
    finishedAt: row.finished_at ? new Date(row.finished_at).toISOString() : null,
  };
  if (rejected.length > limit) record.rejectedTruncated = true;
  if (row.examples) record.examples = row.examples;
  if (row.approved_at) record.approvedAt = new Date(row.approved_at).toISOString();
  return record;
}
