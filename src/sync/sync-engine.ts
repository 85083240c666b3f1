import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { getConnector } from '../../connectors/registry.js';
import type { ConnectorContext, ConnectorState, HrConnector, HrEmployee, HrRejectedRecord } from '../../connectors/types.js';
import { findConnectorConfig, type AppConfig } from '../config/load.js';
import type { ConnectorConfig, OrganizationConfig } from '../config/schema.js';
import { syncConfigToStore } from '../db/config-store.js';
import { connectorState } from '../db/connector-records.js';
import { setHistoryActor } from '../db/history-actor.js';
import { whenDatabaseIsBack } from '../db/connection-errors.js';
import type { SyncCounts } from '../db/sync-run-types.js';
import type { Orm } from '../db/orm.js';
import { sql, sqlOne, isUniqueViolation } from '../db/sql.js';
import {
  analyzeUsers, applyDeactivations, countActive, countPendingDeactivations, countUnseen, dropPendingDeactivations, ensureNamed, insertPendingDeactivations, insertUnseenDeactivations,
  insertRejections, insertUsers, lookupPage, pendingMissing, resolveManagers, unseenExternalIds, updateUsers, type FieldModes, type LookupStrategy, type WriteRow,
} from '../db/sync-repository.js';
import { confirmAbsent, type Confirm } from './confirm-absent.js';
import { compileMapping, isRejection, toSyncRecord, type CompiledMapping, type Rejection, type SyncRecord } from '../domain/employee-record.js';
import { applyScope, compileScope, type ScopeRules, type ScopeTest } from '../domain/scope.js';
import { absenceVerdict, deactivationVerdict, planPage, RunMemory, worthConfirming, type ExistingUser, type PagePlan } from '../domain/sync-plan.js';
import { AppError, errorMessage, isAppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { lockLost, tryLockConnector, type ConnectorLock } from './connector-lock.js';
import { emptyCounts, loadRunRecord, type SyncRunRecord } from './run-record.js';

export interface SyncProgress {
  runId: string;
  seen: number;
  elapsedMs: number;
  /** records per second since the start */
  rate: number;
}

export interface RunSyncOptions {
  connectorId: string;
  dryRun?: boolean;
  trigger?: 'manual' | 'schedule' | 'api';
  /** Force a full listing even where incremental listing is configured. */
  full?: boolean;
  /** Use this id for the run record (e.g. one handed out by the API before the run starts). */
  runId?: string;
  onProgress?: (p: SyncProgress) => void;
  signal?: AbortSignal;
  /** Dry runs only: plan with these scoping rules instead of the connector's (what a scope change would do). */
  scope?: ScopeRules;
}

export interface SyncEngineDeps {
  orm: Orm;
  config: AppConfig;
  log: Logger;
  /** Which connector implements a config `type`; tests may swap one in. */
  resolveConnector?: (type: string) => HrConnector<any>;
  /** Called with every finished run that is not a dry run (held, failed, succeeded); must not throw or block. */
  onFinished?: (run: SyncRunRecord, info: { errorCode: string | null }) => void;
}

const EXAMPLES = 10;
/** How long a run waits for the database to come back to record how it ended (a restart takes seconds). */
const FINAL_WRITE_TIMEOUT_MS = 60_000;
/**
 * Statistics are refreshed once a run has created this many users, then each time it has quadrupled
 * the connector. Small enough that a new organization's first batch is in the statistics before the
 * second batch is looked up (see refreshStatistics).
 */
const ANALYZE_AFTER = 1_000;

/**
 * The sync engine: brings one connector's HR listing into the user store. It creates,
 * updates, links, deactivates and reactivates users, and it never invites anyone: this
 * module does not know invitations exist.
 */
export class SyncEngine {
  constructor(private readonly deps: SyncEngineDeps) {}

  async run(opts: RunSyncOptions): Promise<SyncRunRecord> {
    const { config, orm } = this.deps;
    const found = findConnectorConfig(config, opts.connectorId);
    if (!found) throw new AppError('connector_not_found', `no connector "${opts.connectorId}" in the configuration (${config.source})`);
    const connector = (this.deps.resolveConnector ?? getConnector)(found.connector.type);
    const dryRun = opts.dryRun ?? false;
    if (opts.scope && !dryRun) throw new AppError('validation_failed', 'a scope override is for dry runs only: save the new scope in the configuration to apply it');
    const cc: ConnectorConfig = opts.scope
      ? { ...found.connector, scope: { ...found.connector.scope, include: [...(opts.scope.include ?? [])], exclude: [...(opts.scope.exclude ?? [])] } }
      : found.connector;
    const em = orm.em.fork() as EntityManager;
    // The run's own organization and connectors: the whole configuration was written when the process started.
    await syncConfigToStore(em, config, { organizationId: found.org.id });

    let lock: ConnectorLock | null = null;
    if (!dryRun) {
      lock = await tryLockConnector(config.databaseUrl, opts.connectorId);
      if (!lock) {
        const running = await sqlOne<{ id: string }>(em, `select id from sync_runs where connector_id = ? and status = 'running' and not dry_run`, [opts.connectorId]);
        throw new AppError('connector_busy', `a sync of ${opts.connectorId} is already running${running ? ` (run ${running.id})` : ''}; try again when it has finished`);
      }
    }
    try {
      if (!dryRun) {
        // We hold the lock, so a run still marked running died with its process (or lost its
        // database session and could not record its end): it failed, and applies nothing.
        await sql(em, `with f as (
                         update sync_runs set status = 'failed', error = 'interrupted: the process running it stopped or lost its database session', finished_at = now()
                          where connector_id = ? and status = 'running' and not dry_run returning id)
                       delete from sync_run_deactivations d using f where d.run_id = f.id and d.applied_at is null`, [opts.connectorId]);
        const held = await sqlOne<{ id: string; n: number }>(
          em,
          `select id, (counts->>'heldDeactivations')::int as n from sync_runs where connector_id = ? and status = 'needs_approval' and not dry_run order by started_at desc limit 1`,
          [opts.connectorId],
        );
        if (held) {
          throw new AppError('connector_held', `connector ${opts.connectorId} is held: run ${held.id} waits for approval of ${held.n} deactivations (hrsync sync approve ${held.id}, or reject it with hrsync sync reject ${held.id})`);
        }
      }
      return await this.execute(em, connector, found.org, cc, { ...opts, dryRun }, lock);
    } finally {
      await lock?.release();
    }
  }

  private async execute(em: EntityManager, connector: HrConnector<any>, org: OrganizationConfig, cc: ConnectorConfig, opts: RunSyncOptions & { dryRun: boolean }, lock: ConnectorLock | null): Promise<SyncRunRecord> {
    const runId = opts.runId ?? randomUUID();
    const state = await sqlOne<{ last_sync_at: Date | null; last_full_sync_at: Date | null }>(em, `select last_sync_at, last_full_sync_at from connectors where id = ?`, [cc.id]);
    const since = this.incrementalSince(connector, cc, state, opts.full ?? false);
    const mode = since ? 'incremental' : 'full';
    const startedAt = new Date();
    const claimed = await sql(
      em,
      `insert into sync_runs (id, organization_id, connector_id, trigger, dry_run, mode, status, counts, started_at) values (?, ?, ?, ?, ?, ?, 'running', ?::jsonb, ?)
       on conflict (id) do update set status = 'running', mode = excluded.mode, counts = excluded.counts, started_at = excluded.started_at
        where sync_runs.status = 'queued' and sync_runs.connector_id = excluded.connector_id
       returning id`,
      [runId, org.id, cc.id, opts.trigger ?? 'manual', opts.dryRun, mode, JSON.stringify(emptyCounts()), startedAt],
    );
    // A queued run starts once: a job delivered twice finds its run already started.
    if (claimed.length === 0) throw new AppError('conflict', `sync run ${runId} has already started`);
    const log = this.deps.log.child({ runId, connectorId: cc.id, organizationId: org.id, dryRun: opts.dryRun, mode });
    log.info({ trigger: opts.trigger ?? 'manual' }, 'sync started');

    let failureCode: string | null = null;
    const run = new RunContext(em, runId, org, cc, opts.dryRun, log, () => {
      // A batch never writes once the lock's session is gone: another run may hold the connector by now.
      if (lock && !lock.held) throw lockLost(cc.id);
    });
    // The run's final record: only a run still `running` is finished (one an overlapping run
    // marked interrupted, or whose outcome is already committed, is not overwritten).
    const finalRecord = (t: EntityManager) =>
      sql(
        t,
        `update sync_runs set status = ?, counts = ?::jsonb, error = ?, held_reason = ?, examples = ?::jsonb, skipped_ids = ?::jsonb, finished_at = now() where id = ? and status = 'running' returning id`,
        [run.status, JSON.stringify(run.counts), run.error, run.heldReason, run.examples ? JSON.stringify(run.examples) : null, run.skippedIds.length ? JSON.stringify(run.skippedIds) : null, runId],
      );
    try {
      const options = connector.configSchema.parse(cc.options);
      const ctx: ConnectorContext = {
        log,
        signal: opts.signal,
        since,
        includeInactive: cc.scope.includeInactive,
        reject: (r: HrRejectedRecord) => run.connectorRejections.push({ externalId: r.externalId, reason: r.reason, detail: r.detail }),
        // A dry run reads the memory but must not change it (its own em: never inside a batch's transaction).
        state: opts.dryRun ? readOnly(connectorState(this.deps.orm.em.fork() as EntityManager, cc.id)) : connectorState(this.deps.orm.em.fork() as EntityManager, cc.id),
      };
      const batchSize = this.deps.config.sync.batchSize;
      let buffer: HrEmployee[] = [];
      const t0 = Date.now();
      const report = () => {
        const elapsedMs = Date.now() - t0;
        opts.onProgress?.({ runId, seen: run.counts.seen, elapsedMs, rate: elapsedMs > 0 ? Math.round((run.counts.seen * 1000) / elapsedMs) : 0 });
      };
      // A pipeline of one: while the store works on batch k, the next page is read and batch k+1
      // validated and hashed. Batches still reach the store one at a time and in order.
      let writing: Promise<void> | null = null;
      const submit = async (employees: HrEmployee[]) => {
        const prepared = run.prepare(employees);
        if (writing) await writing;
        writing = run.processBatch(prepared).then(report);
        writing.catch(() => {}); // observed by the next submit or below
      };
      // The listing starts before the count, so the first page is read while the store counts.
      const it = connector.listEmployees(options, ctx)[Symbol.asyncIterator]();
      let next = it.next();
      next.catch(() => {});
      try {
        run.activeBefore = await countActive(em, cc.id);
        await run.startFirstLoad();
        for (;;) {
          const step = await next;
          if (step.done) break;
          next = it.next();
          next.catch(() => {});
          for (const e of step.value) buffer.push(e);
          if (buffer.length >= batchSize) {
            await submit(buffer);
            buffer = [];
          }
        }
        if (buffer.length > 0 || run.connectorRejections.length > 0) await submit(buffer);
      } catch (err) {
        // The listing (or a batch) failed: let the batch in the store finish (or fail: its error came first)
        // before the run is marked failed and its pending deactivations are dropped.
        it.return?.().catch(() => {});
        if (writing) await writing;
        throw err;
      }
      if (writing) await writing;
      await run.processDeferred();
      report();
      const confirm: Confirm | null = connector.lookupEmployees
        ? (ids) => connector.lookupEmployees!(options, ids, ctx)
        : null;
      const tFinish = performance.now();
      const toApply = await run.finish(mode === 'full', cc.deactivation, startedAt, confirm);
      run.time('finish', tFinish);
      // The outcome is decided. The deactivations, the connector's bookkeeping and the run's
      // record are written in one transaction, and only while this run still holds its
      // connector: a database restart at any moment leaves either all of them or none.
      await lock?.verify();
      const deactivated = await em.transactional(async (tx) => {
        const t = tx as EntityManager;
        if (toApply > 0) await setHistoryActor(t, { type: 'run', id: runId });
        const n = toApply > 0 ? await applyDeactivations(t, runId, cc.id) : 0;
        if (!opts.dryRun) {
          await sql(t, `update connectors set last_run_id = ?, last_sync_at = ?, last_full_sync_at = case when ? then ? else last_full_sync_at end, updated_at = now() where id = ?`,
            [runId, startedAt, mode === 'full', startedAt, cc.id]);
        }
        const before = run.counts.deactivated;
        if (!opts.dryRun) run.counts.deactivated = n;
        try {
          if ((await finalRecord(t)).length === 0) throw lockLost(cc.id); // marked interrupted by a run that got the lock
        } finally {
          run.counts.deactivated = before; // set for good once committed
        }
        return n;
      });
      if (!opts.dryRun) run.counts.deactivated = deactivated;
      const timings = Object.fromEntries(Object.entries(run.timings).map(([k, v]) => [k, Math.round(v)]));
      log.info({ status: run.status, ...run.counts, timingsMs: { total: Date.now() - t0, ...timings } }, 'sync finished');
    } catch (err) {
      run.status = 'failed';
      run.error = errorMessage(err);
      failureCode = isAppError(err) ? err.code : 'error';
      run.heldReason = null;
      // Not the raw error: a database error's message carries the SQL text and its parameters (e-mails).
      log.error({ err: { type: err instanceof Error ? err.name : typeof err, code: isAppError(err) ? err.code : (err as { code?: unknown })?.code, message: run.error } }, 'sync failed');
      // A run that failed part way applies no deactivations, and its record must not stay
      // `running` because the failure was the database going away: both wait for it to be back.
      const retry = { timeoutMs: FINAL_WRITE_TIMEOUT_MS, onRetry: () => log.warn('database unavailable; waiting for it to record the failed run') };
      await whenDatabaseIsBack(() => sql(em, `delete from sync_run_deactivations where run_id = ? and applied_at is null`, [runId]), retry).catch(() => {});
      await whenDatabaseIsBack(() => finalRecord(em), retry);
    }
    const record = (await whenDatabaseIsBack(() => loadRunRecord(em, runId), { timeoutMs: FINAL_WRITE_TIMEOUT_MS }))!;
    // Told to whoever wired a listener (the composition root: notifications); never the run's concern.
    if (!opts.dryRun && this.deps.onFinished) {
      try {
        this.deps.onFinished(record, { errorCode: failureCode });
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'run listener failed');
      }
    }
    return record;
  }

  private incrementalSince(connector: HrConnector<any>, cc: ConnectorConfig, state: { last_sync_at: Date | null; last_full_sync_at: Date | null } | null, forceFull: boolean): Date | null {
    if (forceFull || !connector.supportsIncremental || !cc.incremental.enabled) return null;
    if (!state?.last_sync_at || !state.last_full_sync_at) return null;
    const fullDue = Date.now() - new Date(state.last_full_sync_at).getTime() >= cc.incremental.fullSyncEveryHours * 3_600_000;
    if (fullDue) return null;
    // A few minutes of overlap: records changed while the last run was reading are read again (unchanged → no write).
    return new Date(new Date(state.last_sync_at).getTime() - 5 * 60_000);
  }

  /**
   * Tells whether a connector's credentials and permissions work, before the first real run:
   * validates its options and makes the connector's cheapest authenticated request.
   */
  async checkConnector(connectorId: string): Promise<{ connectorId: string; type: string; ok: true; tookMs: number }> {
    const found = findConnectorConfig(this.deps.config, connectorId);
    if (!found) throw new AppError('connector_not_found', `no connector "${connectorId}" in the configuration (${this.deps.config.source})`);
    const connector = (this.deps.resolveConnector ?? getConnector)(found.connector.type);
    const options = connector.configSchema.parse(found.connector.options);
    const t0 = Date.now();
    await connector.checkConnection(options, {
      log: this.deps.log.child({ connectorId }),
      since: null,
      includeInactive: found.connector.scope.includeInactive,
      reject: () => {},
    });
    return { connectorId, type: found.connector.type, ok: true, tookMs: Date.now() - t0 };
  }

  /** Apply the deactivations a `needs_approval` run held back. */
  async approve(runId: string, approvedBy = 'cli'): Promise<SyncRunRecord> {
    return this.decide(runId, 'approve', approvedBy);
  }

  /** Dismiss a `needs_approval` run: nobody is deactivated, and the connector may sync again. */
  async reject(runId: string, decidedBy = 'cli'): Promise<SyncRunRecord> {
    return this.decide(runId, 'reject', decidedBy);
  }

  private async decide(runId: string, action: 'approve' | 'reject', by: string, organizationId?: string): Promise<SyncRunRecord> {
    const em = this.deps.orm.em.fork() as EntityManager;
    const existing = await loadRunRecord(em, runId, { rejectedLimit: 0, organizationId });
    if (!existing) throw new AppError('run_not_found', `no sync run ${runId}`);
    if (existing.status !== 'needs_approval' || existing.dryRun) {
      throw new AppError('run_not_approvable', `run ${runId} is ${existing.dryRun ? 'a dry run' : existing.status}; only a run that needs approval can be ${action === 'approve' ? 'approved' : 'rejected'}`);
    }
    const lock = await tryLockConnector(this.deps.config.databaseUrl, existing.connectorId);
    if (!lock) throw new AppError('connector_busy', `a sync of ${existing.connectorId} is running; try again when it has finished`);
    try {
      await em.transactional(async (tx) => {
        const t = tx as EntityManager;
        const claimed = await sql(t, `update sync_runs set status = ?, approved_at = now(), approved_by = ? where id = ? and status = 'needs_approval' returning id`, [action === 'approve' ? 'approved' : 'rejected', by, runId]);
        await setHistoryActor(t, { type: 'run', id: runId, approvedBy: by });
        if (claimed.length === 0) throw new AppError('run_not_approvable', `run ${runId} was decided meanwhile`);
        if (action === 'approve') {
          const n = await applyDeactivations(t, runId, existing.connectorId);
          await sql(t, `update sync_runs set counts = counts || jsonb_build_object('deactivated', (counts->>'deactivated')::int + ?::int, 'heldDeactivations', 0) where id = ?`, [n, runId]);
          this.deps.log.info({ runId, connectorId: existing.connectorId, deactivated: n }, 'held deactivations approved');
        } else {
          this.deps.log.info({ runId, connectorId: existing.connectorId }, 'held deactivations rejected');
        }
      });
    } finally {
      await lock.release();
    }
    return (await loadRunRecord(em, runId))!;
  }
}

function readOnly(state: ConnectorState): ConnectorState {
  return { get: (keys) => state.get(keys), put: async () => {}, delete: async () => {}, retain: async () => {} };
}

/** One batch of the listing, validated and hashed, not yet looked up in the store. */
interface PreparedBatch {
  /** Records read, rejected ones included. */
  seen: number;
  records: SyncRecord[];
  rejections: Rejection[];
  rejectedIds: string[];
}

/** The state of one run while it goes through the listing. */
class RunContext {
  readonly counts: SyncCounts = emptyCounts();
  readonly memory: RunMemory;
  readonly mapping: CompiledMapping;
  readonly modes: FieldModes;
  readonly connectorRejections: Rejection[] = [];
  activeBefore = 0;
  /** Records of the listing without a readable employee id (they could be anyone absent). */
  unidentified = 0;
  status: SyncRunRecord['status'] = 'running';
  error: string | null = null;
  heldReason: string | null = null;
  examples: Record<string, string[]> | null;
  /** The first employee ids skipped (inactive in HR, never created), kept with the run to show them. */
  skippedIds: string[] = [];
  private readonly locations = new Map<string, string>();
  private readonly groups = new Map<string, string>();
  private terminations = 0;
  /** Users created by this run that the store's statistics already know of. */
  private analyzedCreates = 0;
  private readonly lookupStrategy: LookupStrategy = { range: true };
  /**
   * A first load (see startFirstLoad): the connector had no users and its organization no user
   * with an e-mail outside it, so a page's records are planned without looking anyone up — the
   * store's unique keys are the check. Off for good at the first record the store already holds.
   */
  private firstLoad = false;
  /** Who the connector syncs at all (scope.include / exclude); null: everyone. */
  private readonly scope: ScopeTest | null;
  /** Milliseconds spent per part of the run (logged with 'sync finished': where the time goes). */
  readonly timings: Record<string, number> = {};
  time<T>(part: string, t0: number): void {
    this.timings[part] = (this.timings[part] ?? 0) + (performance.now() - t0);
  }

  constructor(
    private readonly em: EntityManager,
    private readonly runId: string,
    private readonly org: OrganizationConfig,
    private readonly cc: ConnectorConfig,
    private readonly dryRun: boolean,
    private readonly log: Logger,
    /** Throws when the run may no longer write (its connector lock is gone). */
    private readonly guard: () => void = () => {},
  ) {
    this.memory = new RunMemory(dryRun, cc.id);
    this.mapping = compileMapping(cc.mapping);
    this.scope = compileScope(cc.scope);
    this.modes = {
      firstName: this.mapping.firstName.mode,
      lastName: this.mapping.lastName.mode,
      jobTitle: this.mapping.jobTitle.mode,
      location: this.mapping.location?.mode ?? null,
      group: this.mapping.group?.mode ?? null,
      attributes: this.mapping.attributes.some((a) => a.mode === 'on_create') ? 'on_create' : 'always',
    };
    this.examples = dryRun ? { created: [], updated: [], reactivated: [], deactivated: [], rejected: [] } : null;
  }

  private example(kind: string, id: string | null): void {
    const list = this.examples?.[kind];
    if (list && list.length < EXAMPLES && id) list.push(id);
  }

  /**
   * Validates and hashes one batch, with the connector's rejections reported while it was read.
   * Pure CPU work, no store: the engine runs it while the previous batch is being written.
   */
  prepare(employees: HrEmployee[]): PreparedBatch {
    const t0 = performance.now();
    try {
      return this.prepareNow(employees);
    } finally {
      this.time('prepare', t0);
    }
  }

  private prepareNow(employees: HrEmployee[]): PreparedBatch {
    const rejections: Rejection[] = this.connectorRejections.splice(0);
    const seen = employees.length + rejections.length;
    const records: SyncRecord[] = [];
    const rejectedIds: string[] = [];
    for (const e of employees) {
      const r = toSyncRecord(applyScope(e, this.scope), this.mapping);
      if (isRejection(r)) {
        rejections.push(r);
        const id = (e.externalId ?? '').trim();
        if (id) rejectedIds.push(id);
      } else records.push(r);
    }
    for (const r of rejections) {
      if (r.externalId) rejectedIds.push(r.externalId);
      else this.unidentified++;
    }
    return { seen, records, rejections, rejectedIds };
  }

  /**
   * Decides, before the first page, whether this run is a first load. Then nobody can be found by
   * a page's employee ids (the connector has no users and this run holds its lock) or e-mails (the
   * organization has no other user with one), and the look-ups — a fifth of an initial sync —
   * are skipped. What could still collide (an employee id or e-mail repeated in a later page, a
   * user created by hand meanwhile) breaks a unique key: that page is planned again with look-ups,
   * and so is every page after it.
   */
  async startFirstLoad(): Promise<void> {
    if (this.dryRun) return;
    const row = await sqlOne<{ empty: boolean }>(
      this.em,
      `select not exists (select 1 from users where connector_id = ?)
          and not exists (select 1 from users where organization_id = ? and email is not null and connector_id is distinct from ?) as empty`,
      [this.cc.id, this.org.id, this.cc.id],
    );
    this.firstLoad = row?.empty === true;
    if (this.firstLoad) this.log.debug('first load: pages are planned without look-ups');
  }

  /** Records waiting for the end of the listing (see PagePlan.deferred). */
  private deferred: SyncRecord[] = [];

  /** After the last page: plan the deferred records against the store as it now is. */
  async processDeferred(): Promise<void> {
    if (this.deferred.length === 0) return;
    const records = this.deferred.splice(0);
    this.log.debug({ records: records.length }, 'planning records whose e-mail was held by a user not yet seen');
    await this.processBatch({ seen: 0, records, rejections: [], rejectedIds: [] }, true);
  }

  async processBatch(batch: PreparedBatch, final = false): Promise<void> {
    if (!this.dryRun) this.guard();
    const { records, rejectedIds } = batch;
    // A copy: a first-load page that collides is planned again from the batch as it came.
    const rejections = [...batch.rejections];
    this.counts.seen += batch.seen;
    let t0 = performance.now();
    const firstLoad = this.firstLoad && !final;
    const lookup = firstLoad
      ? { byExternalId: new Map<string, ExistingUser>(), byEmail: new Map<string, ExistingUser>() }
      : await lookupPage(
        this.em, this.org.id, this.cc.id,
        [...records.map((r) => r.externalId), ...rejectedIds],
        records.map((r) => r.emailLower),
        this.lookupStrategy,
      );
    this.time('lookup', t0);
    t0 = performance.now();
    const plan = planPage(records, lookup, this.memory, rejectedIds, final);
    this.time('plan', t0);
    rejections.push(...plan.rejections);
    for (const r of plan.deferred) this.deferred.push(r);

    if (this.dryRun) {
      // The run's own record is written even in a dry run: its rejections, with their reasons (issue 14).
      await insertRejections(this.em, this.runId, rejections);
      this.tally(plan, rejections);
      for (const r of plan.creates) this.example('created', r.externalId);
      for (const u of plan.updates) this.example(u.reactivate ? 'reactivated' : 'updated', u.record.externalId);
      for (const u of plan.terminations) this.example('deactivated', u.externalId);
      for (const r of rejections) this.example('rejected', r.externalId);
      return;
    }

    if (plan.creates.length === 0 && plan.updates.length === 0 && plan.terminations.length === 0 && rejections.length === 0) {
      // Nothing to write (an unchanged page): `apply` would open and commit an empty transaction.
      this.tally(plan, rejections);
      return;
    }
    t0 = performance.now();
    try {
      await this.em.transactional(async (tx) => this.apply(tx as EntityManager, plan, rejections));
      this.time('write', t0);
    } catch (err) {
      this.forgetNames();
      if (!isUniqueViolation(err)) throw err;
      if (firstLoad) {
        // A record the store already holds (a repeated id or e-mail, a user created meanwhile):
        // nothing of the page was written; plan it again with look-ups, and the rest of the run too.
        this.firstLoad = false;
        this.log.info({ records: records.length }, 'first load: a record of this page is already in the store; looking records up from here on');
        await this.refreshStatistics(true);
        await this.processBatch({ ...batch, seen: 0 }, final);
        return;
      }
      // Two records raced for one e-mail (e.g. swapped addresses): apply them one at a time and reject the losers.
      this.log.warn({ records: records.length }, 'unique conflict in a batch; applying it record by record');
      await this.applyOneByOne(plan, rejections);
    }
    t0 = performance.now();
    await this.refreshStatistics();
    this.time('analyze', t0);
  }

  /**
   * During a bulk load (an initial sync, a large new population) the planner's picture of the
   * users table goes stale fast, and statements planned on it (deactivations, memberships, the
   * manager pass) scan every user of the connector. Analyze when the users created by this run
   * have quadrupled the connector since the last time (after the first batch, then 4×: 2k, 8k, 32k,
   * 128k, 512k on an initial load in batches of 2,000).
   * The first one matters most when a new organization arrives in a store that holds others: the
   * statistics know only those, estimate the newcomer at one row, and the e-mail lookup of every
   * batch was planned as a scan of all the newcomer's users per address (users_org_status_idx
   * instead of the unique (organization, lower(email)) index): seconds per batch until the first
   * analyze, which used to come only after 5,000 users.
   */
  private async refreshStatistics(now = false): Promise<void> {
    const fresh = this.counts.created - this.analyzedCreates;
    // A first load plans no page on the statistics: they are refreshed once, before the end-of-run passes.
    if (!now && this.firstLoad) return;
    if (fresh < (now ? ANALYZE_AFTER : Math.max(ANALYZE_AFTER, 3 * (this.activeBefore + this.analyzedCreates)))) return;
    this.analyzedCreates = this.counts.created;
    await analyzeUsers(this.em).catch((err: unknown) => this.log.debug({ err: errorMessage(err) }, 'statistics not refreshed'));
  }

  private tally(plan: PagePlan, rejections: Rejection[]): void {
    this.counts.created += plan.creates.length;
    this.counts.updated += plan.updates.filter((u) => u.changed && !u.reactivate).length;
    this.counts.reactivated += plan.updates.filter((u) => u.reactivate).length;
    this.counts.unchanged += plan.unchanged;
    this.counts.skipped += plan.skipped;
    for (const id of plan.skippedIds ?? []) if (this.skippedIds.length < EXAMPLES * 10) this.skippedIds.push(id);
    this.counts.rejected += rejections.length;
    this.terminations += plan.terminations.length;
  }

  /**
   * After a page's transaction failed: the locations and groups it created were rolled back with
   * it, so the ids learnt in it are forgotten (they are looked up, or created, again).
   */
  private forgetNames(): void {
    this.locations.clear();
    this.groups.clear();
  }

  private async resolveNames(em: EntityManager, records: SyncRecord[]): Promise<void> {
    const missingLoc = new Set<string>();
    const missingGrp = new Set<string>();
    for (const r of records) {
      if (r.locationName && !this.locations.has(r.locationName.toLowerCase())) missingLoc.add(r.locationName);
      if (r.groupName && !this.groups.has(r.groupName.toLowerCase())) missingGrp.add(r.groupName);
    }
    if (missingLoc.size > 0) for (const [k, v] of await ensureNamed(em, 'locations', this.org.id, [...missingLoc])) this.locations.set(k, v);
    if (missingGrp.size > 0) for (const [k, v] of await ensureNamed(em, 'groups', this.org.id, [...missingGrp])) this.groups.set(k, v);
  }

  private row(r: SyncRecord): WriteRow {
    return {
      record: r,
      locationId: r.locationName ? this.locations.get(r.locationName.toLowerCase()) ?? null : null,
      groupId: r.groupName ? this.groups.get(r.groupName.toLowerCase()) ?? null : null,
    };
  }

  private async apply(em: EntityManager, plan: PagePlan, rejections: Rejection[]): Promise<void> {
    let t0 = performance.now();
    // The history triggers record this page's changes as the run's. A page is re-derived from HR
    // by the next run if a server crash loses it: its commit need not wait for the disk.
    await setHistoryActor(em, { type: 'run', id: this.runId }, { asyncCommit: true });
    await this.resolveNames(em, [...plan.creates, ...plan.updates.map((u) => u.record)]);
    this.time('write.names', t0);
    t0 = performance.now();
    // Updates first: an address given up by one employee may be taken by a new one in this batch.
    await updateUsers(em, this.cc.id, plan.updates.map((u) => ({ ...this.row(u.record), id: u.user.id, link: u.link, reactivate: u.reactivate, changed: u.changed })), this.modes);
    this.time('write.update', t0);
    t0 = performance.now();
    const created = await insertUsers(em, this.org.id, this.cc.id, plan.creates.map((r) => this.row(r)));
    this.time('write.insert', t0);
    await insertPendingDeactivations(em, this.runId, plan.terminations.map((u) => u.id), 'terminated');
    await insertRejections(em, this.runId, rejections);
    // Only once the transaction is through do the new users count as seen.
    for (const c of created) this.memory.seen.add(c.seq);
    this.tally(plan, rejections);
  }

  private async applyOneByOne(plan: PagePlan, rejections: Rejection[]): Promise<void> {
    const single = (p: Partial<PagePlan>): PagePlan => ({ creates: [], updates: [], unchanged: 0, terminations: [], skipped: 0, rejections: [], deferred: [], ...p });
    const rest: PagePlan = single({ unchanged: plan.unchanged, skipped: plan.skipped, terminations: plan.terminations });
    await this.em.transactional(async (tx) => this.apply(tx as EntityManager, rest, rejections));
    const parts: Array<{ p: PagePlan; id: string }> = [
      ...plan.updates.map((u) => ({ p: single({ updates: [u] }), id: u.record.externalId })),
      ...plan.creates.map((r) => ({ p: single({ creates: [r] }), id: r.externalId })),
    ];
    for (const { p, id } of parts) {
      try {
        await this.em.transactional(async (tx) => this.apply(tx as EntityManager, p, []));
      } catch (err) {
        this.forgetNames();
        if (!isUniqueViolation(err)) throw err;
        const rej: Rejection = { externalId: id, reason: 'duplicate_email', detail: 'another user of the organization has this e-mail' };
        await insertRejections(this.em, this.runId, [rej]);
        this.counts.rejected++;
      }
    }
  }

  /**
   * Asks the HR system about every user this run lists as missing from the listing. Found and
   * active: taken off the list, counted `confirmedPresent` and re-synced from that answer. Gone
   * (null) or inactive: stays listed. Unknown (the look-up failed, or the record was unreadable):
   * the run fails — nobody is deactivated on doubt. Returns how many were taken off.
   */
  private async confirmMissing(confirm: Confirm): Promise<number> {
    const listed = await pendingMissing(this.em, this.runId);
    const outcome = await confirmAbsent(listed.map((u) => u.externalId), confirm);
    const present = new Set(outcome.present.map((e) => e.externalId));
    const keep = new Set([...present, ...outcome.unknown]);
    const drop = listed.filter((u) => keep.has(u.externalId)).map((u) => u.userId);
    this.guard();
    await dropPendingDeactivations(this.em, this.runId, drop);
    this.counts.confirmedPresent += present.size;
    this.log.info({ missing: listed.length, confirmedPresent: present.size, confirmedGone: outcome.gone, unconfirmed: outcome.unknown.length, lookups: outcome.calls }, 'absent users confirmed at the HR system');
    if (outcome.present.length > 0) {
      // Re-synced from the look-up's answer, like a record of the listing (never counted as seen twice).
      const prepared = this.prepare(outcome.present);
      await this.processBatch({ ...prepared, seen: 0 }, true);
    }
    if (outcome.unknown.length > 0) {
      throw new AppError(
        'listing_failed',
        `${outcome.unknown.length} of ${listed.length} users absent from the listing could not be confirmed at the HR system (${outcome.error ?? 'their records could not be read'}); nobody was deactivated`,
        { retryable: true },
      );
    }
    return drop.length;
  }

  /** Dry run: the same confirmations (look-ups only read the HR system), nothing written. */
  private async confirmMissingDry(confirm: Confirm): Promise<number> {
    const ids = await unseenExternalIds(this.em, this.cc.id, this.memory.seen.bytes());
    const outcome = await confirmAbsent(ids, confirm);
    if (outcome.unknown.length > 0) {
      throw new AppError('listing_failed', `${outcome.unknown.length} of ${ids.length} users absent from the listing could not be confirmed at the HR system (${outcome.error ?? 'their records could not be read'}); nobody would be deactivated`, { retryable: true });
    }
    const present = new Set(outcome.present.map((e) => e.externalId));
    this.counts.confirmedPresent += present.size;
    if (this.examples) this.examples.deactivated = this.examples.deactivated.filter((id) => !present.has(id));
    if (outcome.present.length > 0) {
      const prepared = this.prepare(outcome.present);
      await this.processBatch({ ...prepared, seen: 0 }, true);
    }
    return present.size;
  }

  /**
   * After a complete listing: managers, absent users, the threshold. Decides the run's
   * status and returns how many listed deactivations to apply (the caller applies them in
   * the transaction that records the outcome).
   */
  async finish(fullListing: boolean, policy: ConnectorConfig['deactivation'], startedAt: Date, confirm: Confirm | null = null): Promise<number> {
    if (!this.dryRun) this.guard();
    if (!this.dryRun) {
      // The passes below are planned on the statistics; a first load has not refreshed them yet.
      const t0 = performance.now();
      await this.refreshStatistics(true);
      this.time('analyze', t0);
    }
    let missing = 0;
    // The two passes over the connector's users are independent (one lists absent users, the
    // other links managers): they run side by side, each on its own connection.
    const linking = this.dryRun ? null : resolveManagers(this.em, this.cc.id, startedAt);
    linking?.catch(() => {}); // observed below
    try {
      if (fullListing) {
        // Set-based: the seen set goes to the store as a bitmap, rather than every active user coming back.
        const seen = this.memory.seen.bytes();
        if (this.dryRun) {
          const unseen = await countUnseen(this.em, this.cc.id, seen, EXAMPLES);
          missing = unseen.count;
          for (const id of unseen.externalIds) this.example('deactivated', id);
        } else {
          missing = await insertUnseenDeactivations(this.em, this.runId, this.cc.id, seen);
        }
      }
    } finally {
      if (linking) {
        const managers = await linking;
        if (managers.unresolved > 0) this.log.info({ unresolvedManagers: managers.unresolved }, 'some managers are not (yet) in the store; links left empty');
      }
    }
    // A listing read page by page can skip someone while HR changes: nobody absent is deactivated
    // before the HR system, asked by id, says they are gone (no zero-cost shortcut is lost: no
    // one missing, no request).
    if (missing > 0 && confirm) {
      if (!worthConfirming(missing, this.activeBefore, policy)) {
        this.log.warn({ missing, activeBefore: this.activeBefore }, 'too many users absent from the listing to confirm one by one: held for approval unconfirmed');
      } else if (this.dryRun) {
        missing -= await this.confirmMissingDry(confirm);
      } else {
        missing -= await this.confirmMissing(confirm);
      }
    }
    const pending = this.dryRun ? this.terminations + missing : await countPendingDeactivations(this.em, this.runId);
    const threshold = deactivationVerdict(pending, this.activeBefore, policy);
    const verdict = threshold.hold ? threshold : absenceVerdict(missing, this.unidentified);
    if (verdict.hold) {
      this.status = 'needs_approval';
      this.heldReason = verdict.reason;
      this.counts.heldDeactivations = pending;
      this.log.warn({ held: pending, activeBefore: this.activeBefore, unidentified: this.unidentified }, 'deactivations held for approval');
      return 0;
    }
    this.status = 'succeeded';
    if (this.dryRun) {
      this.counts.deactivated = pending;
      return 0;
    }
    // Nothing pending (the usual re-sync): nothing to apply, and one statement fewer per run.
    return pending;
  }
}
