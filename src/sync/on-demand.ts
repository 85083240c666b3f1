import type { EntityManager } from '@mikro-orm/postgresql';
import { sqlOne } from '../db/sql.js';
import { AppError } from '../lib/errors.js';
import { loadRunRecord, type SyncRunRecord } from './run-record.js';
import { runForIds, type LookupRunDeps } from './targeted-lookup.js';
import type { TargetedOutcome } from './targeted-run.js';

/** Entra's provision-on-demand takes at most 5 users at a time; so does this. */
export const ON_DEMAND_MAX = 5;

export interface OnDemandResult {
  run: SyncRunRecord;
  /** What happened to each employee id asked for. */
  outcomes: Record<string, { outcome: TargetedOutcome; reason?: string; detail?: string }>;
}

/**
 * "Sync this person now": the named employees are looked up by id at the HR system (no listing),
 * and what it reports is applied under the connector's rules (mapping, match by id then e-mail,
 * thresholds), recorded as a run with trigger `on_demand`. Never invites: it is a targeted run.
 */
export async function syncEmployeesNow(deps: LookupRunDeps, connectorId: string, employeeIds: string[]): Promise<OnDemandResult> {
  const ids = [...new Set(employeeIds.map((s) => s.trim()).filter((s) => s !== ''))];
  if (ids.length === 0) throw new AppError('validation_failed', 'name at least one employee id');
  if (ids.length > ON_DEMAND_MAX) throw new AppError('validation_failed', `at most ${ON_DEMAND_MAX} employees at a time (${ids.length} given); a full sync takes everyone`);
  if (ids.some((s) => s.length > 100)) throw new AppError('validation_failed', 'an employee id is at most 100 characters');
  const result = await runForIds(deps, { connectorId, externalIds: ids, trigger: 'on_demand' });
  const run = await loadRunRecord(deps.em(), result.runId);
  if (!run) throw new AppError('run_not_found', `run ${result.runId} vanished`);
  return { run, outcomes: Object.fromEntries(result.outcomes) };
}

/** The connector and employee id of a synced user of the organization (for "sync this person" on a user). */
export async function employeeOfUser(em: EntityManager, userId: string, organizationId: string | null): Promise<{ connectorId: string; externalId: string }> {
  const row = await sqlOne<{ connector_id: string | null; external_id: string | null }>(
    em,
    `select connector_id, external_id from users where id = ?::uuid${organizationId ? ' and organization_id = ?' : ''}`,
    organizationId ? [userId, organizationId] : [userId],
  );
  if (!row) throw new AppError('user_not_found', `no user ${userId}`);
  if (!row.connector_id || !row.external_id) throw new AppError('validation_failed', `user ${userId} was not synced from an HR system: there is nobody to look up`);
  return { connectorId: row.connector_id, externalId: row.external_id };
}
