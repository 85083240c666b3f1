import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { HrEmployee } from '../../connectors/types.js';
import { findConnectorConfig, type AppConfig } from '../config/load.js';
import type { ConnectorConfig, OrganizationConfig } from '../config/schema.js';
import { syncConfigToStore } from '../db/config-store.js';
import { setHistoryActor } from '../db/history-actor.js';
import type { SyncCounts } from '../db/sync-run-types.js';
import { bound, isUniqueViolation, sql, sqlOne } from '../db/sql.js';
import {
  applyDeactivations, countActive, ensureNamed, insertPendingDeactivations, insertRejections, insertUsers, lookupPage, updateUsers, type FieldModes, type WriteRow,
} from '../db/sync-repository.js';
import { compileMapping, isRejection, toSyncRecord, type CompiledMapping, type Rejection, type SyncRecord } from '../domain/employee-record.js';
import { applyScope, compileScope } from '../domain/scope.js';
import { deactivationVerdict, planPage, RunMemory, type ExistingUser } from '../domain/sync-plan.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { emptyCounts, loadRunRecord, type SyncRunRecord } from './run-record.js';

/**
 * A targeted run: a handful of employees pushed to hrsync (a SCIM request, a vendor webhook's
 * people looked up by id) applied under the rules of a pull — the same validation, mapping and
 * planner (match by id, then link by e-mail), the same repository statements (creating never
 * invites), a run record for every change. Deactivations count against the connector's
 * threshold over a sliding window (a burst of them is held for approval beyond it), since a
 * targeted run cannot see the whole population as a full run does.
 */
export type TargetedTrigger = 'scim' | 'webhook' | 'on_demand';

export interface TargetedRunOptions {
  connectorId: string;
  trigger: TargetedTrigger;
  /** Employees as the source reports them now (status inactive: terminated). */
  employees: HrEmployee[];
  /** Employee ids the source confirmed do not exist any more (a by-id look-up found nothing): deactivated. */
  gone?: string[];
  /** The mapping to apply; by default the connector's. */
  mapping?: CompiledMapping;
  /** The window over which deactivations are counted against the threshold (default 60 minutes). */
  windowMinutes?: number;
  /**
   * Whether users already in the store may name a newcomer as their manager (HR ids are known
   * before the person arrives). False where ids are minted at creation (SCIM): saves a scan.
   */
  linkWaitingReports?: boolean;
}

export type TargetedOutcome = 'created' | 'updated' | 'unchanged' | 'reactivated' | 'deactivated' | 'held' | 'skipped' | 'rejected';

export interface TargetedRunResult {
  runId: string;
  status: 'succeeded' | 'needs_approval';
  counts: SyncCounts;
  heldReason: string | null;
  /** What happened to each employee id of the run. */
  outcomes: Map<string, { outcome: TargetedOutcome; reason?: string; detail?: string }>;
}

export interface TargetedRunDeps {
  em(): EntityManager;
  config: AppConfig;
  log: Logger;
  /** Told of a pushed run held for approval (the composition root: notifications); must not throw. */
  onFinished?: (run: SyncRunRecord, info: { errorCode: string | null }) => void;
}

export function fieldModes(mapping: CompiledMapping): FieldModes {
  return {
    firstName: mapping.firstName.mode,
    lastName: mapping.lastName.mode,
    jobTitle: mapping.jobTitle.mode,
    location: mapping.location?.mode ?? null,
    group: mapping.group?.mode ?? null,
    attributes: mapping.attributes.some((a) => a.mode === 'on_create') ? 'on_create' : 'always',
  };
}

const known = new WeakMap<AppConfig, Set<string>>();

/** The connector's configuration, its organization, and the store knowing both (once per process). */
export async function targetConnector(deps: TargetedRunDeps, connectorId: string): Promise<{ org: OrganizationConfig; cc: ConnectorConfig }> {
  const found = findConnectorConfig(deps.config, connectorId);
  if (!found) throw new AppError('connector_not_found', `no connector "${connectorId}" in the configuration`);
  let set = known.get(deps.config);
  if (!set) known.set(deps.config, (set = new Set()));
  if (!set.has(found.org.id)) {
    await syncConfigToStore(deps.em(), deps.config, { organizationId: found.org.id });
    set.add(found.org.id);
  }
  return { org: found.org, cc: found.connector };
}

export async function runTargeted(deps: TargetedRunDeps, opts: TargetedRunOptions): Promise<TargetedRunResult> {
  const { org, cc } = await targetConnector(deps, opts.connectorId);
  try {
    return await attempt(deps, org, cc, opts);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    // Two requests raced for one e-mail: apply the employees one at a time; a loser is rejected.
    if (opts.employees.length + (opts.gone?.length ?? 0) > 1) {
      const parts = [...opts.employees.map((e) => ({ ...opts, employees: [e], gone: [] })), ...(opts.gone ?? []).map((g) => ({ ...opts, employees: [], gone: [g] }))];
      const results: TargetedRunResult[] = [];
      for (const p of parts) results.push(await runTargeted(deps, p));
      return merge(results);
    }
    const e = opts.employees[0];
    // Which unique index refused it: the organization's e-mail addresses, or another (e.g. a SCIM userName).
    const where = `${(err as { constraint?: unknown }).constraint ?? ''} ${(err as Error).message ?? ''}`;
    const rejection: Rejection = /users_org_email_uq/.test(where)
      ? { externalId: e?.externalId ?? null, reason: 'duplicate_email', detail: 'another user of the organization has this e-mail' }
      : { externalId: e?.externalId ?? null, reason: 'duplicate_value', detail: /scim_user_name/.test(where) ? 'another user has this userName' : 'another user has this value' };
    return attempt(deps, org, cc, { ...opts, employees: [], gone: [] }, [rejection]);
  }
}

function merge(results: TargetedRunResult[]): TargetedRunResult {
  const counts = emptyCounts();
  const outcomes = new Map<string, { outcome: TargetedOutcome; reason?: string; detail?: string }>();
  for (const r of results) {
    for (const k of Object.keys(counts) as Array<keyof SyncCounts>) counts[k] += r.counts[k] ?? 0;
    for (const [k, v] of r.outcomes) outcomes.set(k, v);
  }
  const held = results.find((r) => r.status === 'needs_approval');
  return { runId: results[0]?.runId ?? '', status: held ? 'needs_approval' : 'succeeded', counts, heldReason: held?.heldReason ?? null, outcomes };
}

async function attempt(deps: TargetedRunDeps, org: OrganizationConfig, cc: ConnectorConfig, opts: TargetedRunOptions, extraRejections: Rejection[] = []): Promise<TargetedRunResult> {
  const em = deps.em();
  const mapping = opts.mapping ?? compileMapping(cc.mapping);
  const modes = fieldModes(mapping);
  const gone = opts.gone ?? [];
  const records: SyncRecord[] = [];
  const rejections: Rejection[] = [...extraRejections];
  const rejectedIds: string[] = [];
  const scope = compileScope(cc.scope);
  for (const e of opts.employees) {
    const r = toSyncRecord(applyScope(e, scope), mapping);
    if (isRejection(r)) {
      rejections.push(r);
      if (r.externalId) rejectedIds.push(r.externalId);
    } else records.push(r);
  }
  const lookup = await lookupPage(em, org.id, cc.id, [...records.map((r) => r.externalId), ...rejectedIds, ...gone], records.map((r) => r.emailLower));
  // A targeted run is its own last page: nothing waits for a later one.
  const plan = planPage(records, lookup, new RunMemory(false, null), rejectedIds, true);
  rejections.push(...plan.rejections);
  const goneUsers: ExistingUser[] = [];
  for (const id of gone) {
    const u = lookup.byExternalId.get(id);
    if (u && u.status === 'active') goneUsers.push(u);
  }
  const terminations = [...plan.terminations, ...goneUsers.filter((g) => !plan.terminations.some((t) => t.id === g.id))];

  const outcomes = new Map<string, { outcome: TargetedOutcome; reason?: string; detail?: string }>();
  const counts = emptyCounts();
  counts.seen = opts.employees.length + gone.length + extraRejections.length;
  counts.created = plan.creates.length;
  counts.updated = plan.updates.filter((u) => u.changed && !u.reactivate).length;
  counts.reactivated = plan.updates.filter((u) => u.reactivate).length;
  counts.unchanged = plan.unchanged;
  counts.skipped = plan.skipped;
  counts.rejected = rejections.length;
  for (const r of plan.creates) outcomes.set(r.externalId, { outcome: 'created' });
  for (const u of plan.updates) outcomes.set(u.record.externalId, { outcome: u.reactivate ? 'reactivated' : u.changed ? 'updated' : 'unchanged' });
  for (const r of records) if (!outcomes.has(r.externalId)) outcomes.set(r.externalId, { outcome: r.active ? 'unchanged' : 'skipped' });
  for (const r of rejections) if (r.externalId) outcomes.set(r.externalId, { outcome: 'rejected', reason: r.reason, detail: r.detail });

  const runId = randomUUID();
  const windowMinutes = opts.windowMinutes ?? 60;
  let status: TargetedRunResult['status'] = 'succeeded';
  let heldReason: string | null = null;
  const locations = new Map<string, string>();
  const groups = new Map<string, string>();
  const row = (r: SyncRecord): WriteRow => ({
    record: r,
    locationId: r.locationName ? locations.get(r.locationName.toLowerCase()) ?? null : null,
    groupId: r.groupName ? groups.get(r.groupName.toLowerCase()) ?? null : null,
  });

  await em.transactional(async (tx) => {
    const t = tx as EntityManager;
    await setHistoryActor(t, { type: opts.trigger === 'on_demand' ? 'run' : opts.trigger, id: runId });
    // The run's record: written first where rows will point at it (rejections, deactivations),
    // else once at the end with its outcome (one statement fewer for the usual single change).
    let recorded = false;
    const record = async () => {
      if (recorded) return;
      recorded = true;
      await sql(
        t,
        `insert into sync_runs (id, organization_id, connector_id, trigger, dry_run, mode, status, counts, started_at) values (?, ?, ?, ?, false, 'incremental', 'succeeded', ?::jsonb, now())`,
        [runId, org.id, cc.id, opts.trigger, JSON.stringify(counts)],
      );
    };
    if (rejections.length > 0 || terminations.length > 0) await record();
    const written = [...plan.creates, ...plan.updates.map((u) => u.record)];
    const locs = [...new Set(written.map((r) => r.locationName).filter((n): n is string => !!n))];
    const grps = [...new Set(written.map((r) => r.groupName).filter((n): n is string => !!n))];
    if (locs.length) for (const [k, v] of await ensureNamed(t, 'locations', org.id, locs)) locations.set(k, v);
    if (grps.length) for (const [k, v] of await ensureNamed(t, 'groups', org.id, grps)) groups.set(k, v);
    await updateUsers(t, cc.id, plan.updates.map((u) => ({ ...row(u.record), id: u.user.id, link: u.link, reactivate: u.reactivate, changed: u.changed })), modes);
    const created = await insertUsers(t, org.id, cc.id, plan.creates.map(row));
    if (created.length > 0 && opts.linkWaitingReports !== false) {
      // People who named a newcomer as their manager before it existed get the link now.
      await bound(
        t,
        `update users u set manager_id = c.id, updated_at = now() from jsonb_to_recordset(?::jsonb) as c(id uuid, external_id text)
          where u.connector_id = ? and u.manager_external_id = c.external_id and u.manager_id is null and u.id <> c.id`,
        [JSON.stringify(created.map((c) => ({ id: c.id, external_id: c.externalId }))), cc.id],
      );
    }
    await insertRejections(t, runId, rejections);
    // Someone active again withdraws a deactivation still waiting for approval.
    const stillHere = records.filter((r) => r.active).map((r) => lookup.byExternalId.get(r.externalId)?.id).filter((id): id is string => id !== undefined);
    if (stillHere.length > 0) await withdrawHeld(t, cc.id, stillHere);

    if (terminations.length > 0) {
      const decision = await decide(t, cc, terminations.length, windowMinutes);
      const ids = terminations.map((u) => u.id);
      if (decision.hold) {
        const into = decision.openHeldRun ?? runId;
        await insertPendingDeactivations(t, into, ids, 'terminated');
        counts.heldDeactivations = ids.length;
        if (into === runId) {
          status = 'needs_approval';
          heldReason = decision.reason;
        } else {
          heldReason = `held for approval in run ${into}: ${decision.reason}`;
          await recountHeld(t, into);
        }
        for (const u of terminations) if (u.externalId) outcomes.set(u.externalId, { outcome: 'held', reason: 'deactivation_held' });
      } else {
        await insertPendingDeactivations(t, runId, ids, 'terminated');
        counts.deactivated = await applyDeactivations(t, runId, cc.id);
        for (const u of terminations) if (u.externalId) outcomes.set(u.externalId, { outcome: 'deactivated' });
      }
    }
    if (recorded) {
      await sql(t, `update sync_runs set status = ?, counts = ?::jsonb, held_reason = ?, finished_at = now() where id = ?`, [status, JSON.stringify(counts), heldReason, runId]);
    } else {
      await sql(
        t,
        `insert into sync_runs (id, organization_id, connector_id, trigger, dry_run, mode, status, counts, held_reason, started_at, finished_at) values (?, ?, ?, ?, false, 'incremental', ?, ?::jsonb, ?, now(), now())`,
        [runId, org.id, cc.id, opts.trigger, status, JSON.stringify(counts), heldReason],
      );
    }
  });
  deps.log.info({ runId, connectorId: cc.id, trigger: opts.trigger, status, ...counts }, 'targeted sync finished');
  if ((status as TargetedRunResult['status']) === 'needs_approval' && deps.onFinished) {
    const run = await loadRunRecord(em, runId, { rejectedLimit: 0 });
    if (run) deps.onFinished(run, { errorCode: null });
  }
  return { runId, status, counts, heldReason, outcomes };
}

/**
 * Whether `n` more deactivations stay within the connector's threshold, counting those the
 * connector's pushed runs applied within the window and those still held. Serialized per
 * connector (a transaction-scoped advisory lock), so that concurrent requests cannot each pass.
 */
async function decide(t: EntityManager, cc: ConnectorConfig, n: number, windowMinutes: number): Promise<{ hold: boolean; reason: string | null; openHeldRun: string | null }> {
  await sql(t, `select pg_advisory_xact_lock(hashtext('hrsync:push-deactivations'), hashtext(?))`, [cc.id]);
  const w = await sqlOne<{ applied: string; held: string }>(
    t,
    `select count(*) filter (where d.applied_at > now() - make_interval(mins => ?)) as applied,
            count(*) filter (where d.applied_at is null and r.status = 'needs_approval') as held
       from sync_runs r join sync_run_deactivations d on d.run_id = r.id
      where r.connector_id = ? and r.trigger in ('scim', 'webhook', 'on_demand') and not r.dry_run
        and (r.started_at > now() - make_interval(mins => ?) or r.status = 'needs_approval')
        and (d.applied_at > now() - make_interval(mins => ?) or (d.applied_at is null and r.status = 'needs_approval'))`,
    [windowMinutes, cc.id, windowMinutes, windowMinutes],
  );
  const applied = Number(w?.applied ?? 0);
  const held = Number(w?.held ?? 0);
  const open = await sqlOne<{ id: string }>(
    t,
    `select id from sync_runs where connector_id = ? and status = 'needs_approval' and not dry_run order by started_at desc limit 1`,
    [cc.id],
  );
  // The population before the window's deactivations: those still active plus those it took away.
  const activeBefore = (await countActive(t, cc.id)) + applied;
  const verdict = deactivationVerdict(applied + held + n, activeBefore, cc.deactivation);
  if (verdict.hold) return { hold: true, reason: `${verdict.reason} within ${windowMinutes} minutes`, openHeldRun: open?.id ?? null };
  // A connector already held (by a full run or a burst) holds further deactivations too.
  if (open) return { hold: true, reason: 'the connector has deactivations waiting for approval', openHeldRun: open.id };
  return { hold: false, reason: null, openHeldRun: null };
}

async function recountHeld(t: EntityManager, runId: string): Promise<void> {
  await sql(
    t,
    `update sync_runs set counts = counts || jsonb_build_object('heldDeactivations', (select count(*) from sync_run_deactivations where run_id = ? and applied_at is null)) where id = ?`,
    [runId, runId],
  );
}

async function withdrawHeld(t: EntityManager, connectorId: string, userIds: string[]): Promise<void> {
  const runs = await bound<{ run_id: string }>(
    t,
    `delete from sync_run_deactivations d
      where d.run_id in (select r.id from sync_runs r where r.connector_id = ? and r.status = 'needs_approval' and not r.dry_run)
        and d.applied_at is null and d.user_id in (select x::uuid from jsonb_array_elements_text(?::jsonb) as x)
      returning d.run_id`,
    [connectorId, JSON.stringify(userIds)],
  );
  for (const id of new Set(runs.map((r) => r.run_id))) await recountHeld(t, id);
}
