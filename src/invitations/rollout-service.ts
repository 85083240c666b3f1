import { actorOf, setHistoryActor } from '../db/history-actor.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { cancelPending, countsByStatus, failBatch } from '../db/invitation-repository.js';
import { sql, sqlOne } from '../db/sql.js';
import { nextStatus, type LoginMethod, type RolloutStatus } from '../domain/rollout-plan.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { createUser, type CreateUserInput, type UserRecord } from '../users/user-service.js';
import { acceptInvitation } from './accept-invitation.js';
import { completeIfDone, enqueuePending } from './rollout-complete.js';
import { fireRollout } from './rollout-fire.js';
import { reconcileRollouts } from './rollout-reconcile.js';
import {
  createRolloutSchema,
  DEFAULT_INVITATION_SETTINGS,
  UUID,
  type CreateRolloutInput,
  type CreateRolloutOptions,
  type InvitationSettings,
  type MailPort,
  type RolloutContext,
  type RolloutRecord,
  type RolloutRow,
  type RolloutServiceDeps,
} from './rollout-types.js';
import { sendBatch, type BatchResult } from './send-batch.js';

export * from './rollout-types.js';
export { hashToken, newToken } from './invitation-tokens.js';
export { selectionWhere, type Selection } from './rollout-selection.js';
export { MailServerUnavailableError } from './send-batch.js';

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/**
 * Rollouts: the one way invitations come to exist. Used alike by the CLI, the HTTP API
 * and the queue processors. PostgreSQL holds every rollout and invitation; the queues
 * only carry work in flight and are rebuilt from the store by `reconcile()`.
 *
 * This class creates and steers rollouts; the jobs live beside it: firing (rollout-fire.ts),
 * sending a batch (send-batch.ts), accepting (accept-invitation.ts), tokens
 * (invitation-tokens.ts), reconciling (rollout-reconcile.ts); their SQL in
 * src/db/invitation-repository.ts.
 */
export class RolloutService {
  readonly settings: InvitationSettings;
  private readonly ctx: RolloutContext;

  constructor(private readonly deps: RolloutServiceDeps) {
    this.settings = { ...DEFAULT_INVITATION_SETTINGS, ...deps.settings };
    this.ctx = { deps, settings: this.settings };
  }

  private em(): EntityManager {
    return this.deps.orm.em.fork() as EntityManager;
  }

  // ---- creating and steering -------------------------------------------------------------

  /**
   * Schedules a rollout. With `tx`, inside that transaction (the caller schedules the trigger
   * after its commit: `afterCommit`); without, in its own, trigger included.
   */
  async create(organizationId: string, input: CreateRolloutInput, opts: CreateRolloutOptions = {}): Promise<RolloutRecord> {
    const { record, afterCommit } = await this.createIn(this.em(), organizationId, input, opts);
    await afterCommit();
    return record;
  }

  async createIn(em: EntityManager, organizationId: string, input: CreateRolloutInput, opts: CreateRolloutOptions = {}): Promise<{ record: RolloutRecord; afterCommit: () => Promise<void> }> {
    const data = createRolloutSchema.parse(input);
    const org = await sqlOne(em, `select 1 from organizations where id = ?`, [organizationId]);
    if (!org) throw new AppError('organization_not_found', `no organization ${organizationId}`);
    const now = opts.now ?? new Date();
    const sendAt = data.sendAt ? new Date(data.sendAt) : now;
    let userIds = data.userIds;
    if (data.emails) {
      const rows = await sql<{ id: string; e: string }>(
        em,
        `select id, lower(email) as e from users where organization_id = ? and lower(email) in (select lower(jsonb_array_elements_text(?::jsonb)))`,
        [organizationId, JSON.stringify(data.emails)],
      );
      const found = new Set(rows.map((r) => r.e));
      const missing = data.emails.filter((e) => !found.has(e.toLowerCase()));
      if (missing.length > 0) throw new AppError('user_not_found', `no user with ${missing.length === 1 ? 'this e-mail' : `${missing.length} of these e-mails`} in organization ${organizationId}`);
      userIds = [...new Set([...(userIds ?? []), ...rows.map((r) => r.id)])];
    }
    const selection = { ...(userIds ? { userIds } : {}), ...(data.filter ? { filter: data.filter } : {}) };
    // Reminders: the rule's, else the organization's default (config), else none.
    const remind = opts.reminders !== undefined ? opts.reminders : (this.deps.reminderDefault?.(organizationId) ?? null);
    const row = await sqlOne<{ id: string }>(
      em,
      `insert into rollouts (organization_id, status, login_method, message, send_at, resend, selection, batch_size, created_by, rule_id, remind_days_before, remind_max)
       values (?, 'scheduled', ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?) returning id`,
      [organizationId, data.loginMethod, data.message || null, sendAt, data.resend, JSON.stringify(selection), this.settings.batchSize, opts.createdBy ?? null,
        opts.ruleId ?? null, remind && remind.maxTimes > 0 ? remind.daysBeforeExpiry : null, remind?.maxTimes ?? 0],
    );
    const id = row!.id;
    this.deps.log.info({ rolloutId: id, organizationId, sendAt: sendAt.toISOString(), loginMethod: data.loginMethod }, 'rollout scheduled');
    const record = (await this.getIn(em, id))!;
    return { record, afterCommit: () => this.safely(() => this.deps.queues.scheduleTrigger(id, sendAt), { rolloutId: id }, 'trigger not queued; the reconciler will queue it') };
  }

  /**
   * Creates a user by hand and, when asked, invites them at once (a rollout of one): one
   * transaction, so there is never a user whose requested invitation was lost. With `tx`,
   * inside the caller's transaction (an Idempotency-Key's).
   */
  async createUser(organizationId: string, input: CreateUserInput, invite?: { loginMethod: LoginMethod; message?: string | null }, createdBy?: string): Promise<{ user: UserRecord; rollout: RolloutRecord | null }> {
    const { result, afterCommit } = await this.em().transactional((tx) => this.createUserIn(tx as EntityManager, organizationId, input, invite, createdBy));
    await afterCommit();
    return result;
  }

  async createUserIn(
    tx: EntityManager,
    organizationId: string,
    input: CreateUserInput,
    invite?: { loginMethod: LoginMethod; message?: string | null },
    createdBy?: string,
  ): Promise<{ result: { user: UserRecord; rollout: RolloutRecord | null }; afterCommit: () => Promise<void> }> {
    await setHistoryActor(tx, actorOf(createdBy ?? 'admin'));
    const user = await createUser(tx, organizationId, input);
    if (!invite) return { result: { user, rollout: null }, afterCommit: async () => {} };
    const { record, afterCommit } = await this.createIn(tx, organizationId, { userIds: [user.id], loginMethod: invite.loginMethod, message: invite.message ?? null }, { createdBy });
    return { result: { user, rollout: record }, afterCommit };
  }

  async get(id: string, organizationId?: string): Promise<RolloutRecord | null> {
    return this.getIn(this.em(), id, organizationId);
  }

  private async getIn(em: EntityManager, id: string, organizationId?: string): Promise<RolloutRecord | null> {
    if (!UUID.test(id)) return null;
    const row = await sqlOne<RolloutRow>(em, `select * from rollouts where id = ?${organizationId ? ' and organization_id = ?' : ''}`, organizationId ? [id, organizationId] : [id]);
    if (!row) return null;
    return this.toRecord(row, await countsByStatus(em, [id]));
  }

  async list(opts: { organizationId?: string; status?: RolloutStatus; limit?: number; before?: string } = {}): Promise<RolloutRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (opts.organizationId) { where.push('organization_id = ?'); params.push(opts.organizationId); }
    if (opts.status) { where.push('status = ?'); params.push(opts.status); }
    if (opts.before) { where.push('created_at < ?'); params.push(new Date(opts.before)); }
    const em = this.em();
    const rows = await sql<RolloutRow>(em, `select * from rollouts${where.length ? ` where ${where.join(' and ')}` : ''} order by created_at desc limit ?`, [...params, Math.min(opts.limit ?? 50, 500)]);
    if (rows.length === 0) return [];
    const counts = await countsByStatus(em, rows.map((r) => r.id));
    return rows.map((r) => this.toRecord(r, counts.filter((c) => c.rollout_id === r.id)));
  }

  private toRecord(row: RolloutRow, counts: Array<{ status: string; n: string }>): RolloutRecord {
    const by = (s: string) => Number(counts.find((c) => c.status === s)?.n ?? 0);
    const skipped = Object.values(row.skipped_by_reason ?? {}).reduce((a, b) => a + (b ?? 0), 0);
    const sel = row.selection ?? {};
    return {
      id: row.id,
      organizationId: row.organization_id,
      status: row.status,
      loginMethod: row.login_method,
      message: row.message,
      sendAt: new Date(row.send_at).toISOString(),
      resend: row.resend,
      selection: { ...(sel.filter ? { filter: sel.filter } : {}), ...(sel.userIds ? { userCount: sel.userIds.length, ...(sel.userIds.length <= 100 ? { userIds: sel.userIds } : {}) } : {}) },
      counts: {
        targeted: row.targeted,
        pending: by('pending') + by('sending'),
        sent: by('sent') + by('accepted') + by('expired') + by('revoked'),
        skipped,
        failed: by('failed'),
        cancelled: by('cancelled'),
        accepted: by('accepted'),
        reminded: row.reminded ?? 0,
      },
      ruleId: row.rule_id ?? null,
      skippedByReason: row.skipped_by_reason ?? {},
      error: row.error,
      createdAt: new Date(row.created_at).toISOString(),
      startedAt: iso(row.started_at),
      finishedAt: iso(row.finished_at),
    };
  }

  async cancel(id: string, organizationId?: string): Promise<RolloutRecord> {
    return this.steer(id, 'cancel', organizationId);
  }

  async pause(id: string, organizationId?: string): Promise<RolloutRecord> {
    return this.steer(id, 'pause', organizationId);
  }

  async resume(id: string, organizationId?: string): Promise<RolloutRecord> {
    return this.steer(id, 'resume', organizationId);
  }

  /** Guarded status changes: they take effect between messages (batches claim a few at a time). */
  private async steer(id: string, action: 'cancel' | 'pause' | 'resume', organizationId?: string): Promise<RolloutRecord> {
    const current = await this.get(id, organizationId);
    if (!current) throw new AppError('rollout_not_found', `no rollout ${id}`);
    const started = current.startedAt !== null;
    const target = nextStatus(current.status, action, started);
    if (!target) throw new AppError('rollout_invalid_state', `rollout ${id} is ${current.status}: it cannot be ${action === 'cancel' ? 'cancelled' : action === 'pause' ? 'paused' : 'resumed'}`);
    const em = this.em();
    await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      // A resume clears the reason a mail fault paused the rollout for: the administrator says it is fixed.
      const done = await sql(
        t,
        `update rollouts set status = ?, paused_from = case when ? = 'paused' then status else paused_from end,
                error = case when ? = 'resume' then null else error end,
                finished_at = case when ? = 'cancelled' then now() else finished_at end, updated_at = now()
          where id = ? and status = ? returning id`,
        [target, target, action, target, id, current.status],
      );
      if (done.length === 0) throw new AppError('rollout_invalid_state', `rollout ${id} changed meanwhile; try again`);
      if (target === 'cancelled') await cancelPending(t, id);
    });
    this.deps.log.info({ rolloutId: id, from: current.status, to: target }, `rollout ${action}`);
    if (target === 'cancelled' || (target === 'paused' && current.status === 'scheduled')) {
      await this.safely(() => this.deps.queues.removeTrigger(id), { rolloutId: id }, 'trigger not removed; it will find the rollout not scheduled');
    }
    if (target === 'scheduled') await this.safely(() => this.deps.queues.scheduleTrigger(id, new Date(current.sendAt)), { rolloutId: id }, 'trigger not queued; the reconciler will queue it');
    if (target === 'running') await this.safely(() => enqueuePending(this.ctx, id), { rolloutId: id }, 'batches not queued; the reconciler will queue them');
    return (await this.get(id))!;
  }

  private async safely(fn: () => Promise<void>, ids: Record<string, string>, msg: string): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.log.warn({ ...ids, err: (err as Error).message }, msg);
    }
  }

  // ---- the jobs -----------------------------------------------------------------------------

  /** Fires a scheduled rollout whose time has come (rollout-fire.ts), then queues its batches. */
  async fire(id: string, now: Date = new Date()): Promise<{ fired: boolean; targeted: number; batches: number }> {
    const r = await fireRollout(this.ctx, id, now);
    if (r.batches.length > 0) {
      await this.safely(() => this.deps.queues.enqueueBatches(id, r.batches), { rolloutId: id }, 'batches not queued; the reconciler will queue them');
    }
    return { fired: r.fired, targeted: r.targeted, batches: r.batches.length };
  }

  /** Sends the pending invitations of one batch (send-batch.ts). */
  sendBatch(id: string, batch: number, mail: MailPort, opts: { signal?: AbortSignal; log?: Logger } = {}): Promise<BatchResult> {
    return sendBatch(this.ctx, id, batch, mail, opts);
  }

  /** After a batch gave up retrying: its pending messages fail, and the rollout can finish. */
  async failBatch(id: string, batch: number, reason: string): Promise<void> {
    await failBatch(this.em(), id, batch, reason);
    await completeIfDone(this.ctx, id);
  }

  completeIfDone(id: string): Promise<boolean> {
    return completeIfDone(this.ctx, id);
  }

  /** Rebuilds the queues from the store, expires invitations past their time (rollout-reconcile.ts). */
  reconcile(): Promise<{ triggers: number; batches: number; completed: number; expired: number }> {
    return reconcileRollouts(this.ctx);
  }

  /** Uses an invitation's token (accept-invitation.ts). */
  accept(token: string, organizationId?: string): Promise<{ userId: string; organizationId: string }> {
    return acceptInvitation(this.ctx, token, organizationId);
  }
}
