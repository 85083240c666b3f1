import { createHash, randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import type { Orm } from '../db/orm.js';
import { sql, sqlOne } from '../db/sql.js';
import { LOGIN_METHODS, nextStatus, planRollout, type LoginMethod, type RolloutCandidate, type RolloutStatus, type SkipReason } from '../domain/rollout-plan.js';
import { AppError } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { createUser, type CreateUserInput, type UserRecord } from '../users/user-service.js';
import type { BatchLock } from './batch-lock.js';

/** How the service reaches the queues (BullMQ in jobs/; anything in tests). */
export interface RolloutQueuePort {
  /** A delayed trigger job at sendAt; deterministic id per rollout. */
  scheduleTrigger(rolloutId: string, sendAt: Date): Promise<void>;
  removeTrigger(rolloutId: string): Promise<void>;
  /**
   * Batch jobs, added in chunks; a batch already queued is not queued twice. With
   * `replaceFinished`, a batch whose job has finished (failed: its retries ran out) is
   * queued again, since the store says it still has work.
   */
  enqueueBatches(rolloutId: string, batches: number[], opts?: { replaceFinished?: boolean }): Promise<void>;
  /** What Redis holds now (waiting, delayed, active): for the reconciler. */
  queuedTriggers(): Promise<Set<string>>;
  queuedBatches(): Promise<Map<string, Set<number>>>;
}

/** One invitation e-mail to send. The token is in the clear here and nowhere else. */
export interface InvitationMessage {
  invitationId: string;
  to: string;
  firstName: string | null;
  lastName: string | null;
  organizationName: string;
  loginMethod: LoginMethod;
  message: string | null;
  token: string;
  expiresAt: Date;
}

/** Sends one message; throws an error with `permanent: true` for a rejected address. */
export interface MailPort {
  send(msg: InvitationMessage): Promise<void>;
}

export interface InvitationSettings {
  batchSize: number;
  /** messages claimed (and checked against pause/cancel) at a time */
  chunkSize: number;
  tokenTtlMs: number;
}

export const DEFAULT_INVITATION_SETTINGS: InvitationSettings = { batchSize: 250, chunkSize: 25, tokenTtlMs: 7 * 24 * 3_600_000 };

export interface RolloutServiceDeps {
  orm: Orm;
  log: Logger;
  queues: RolloutQueuePort;
  settings?: Partial<InvitationSettings>;
  /** Waits until `n` more messages may be sent (the provider's quota). */
  rateLimit?: (n: number) => Promise<void>;
  /**
   * Takes a batch for this sender alone (null: another sender has it), across processes. The
   * workers give a PostgreSQL advisory lock (batch-lock.ts); without one, nothing stops two
   * runs of the same batch, e.g. after Redis lost a running job and the reconciler queued it again.
   */
  lockBatch?: (rolloutId: string, batch: number) => Promise<BatchLock | null>;
}

export const MAX_MESSAGE_LENGTH = 500;
/** A rollout of at least this many invitations refreshes the table's planner statistics when it fires. */
const ANALYZE_AFTER_TARGETS = 2_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A short personal note: plain text, control characters removed, newlines kept. */
const messageSchema = z
  .string()
  .transform((s) => s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '').trim())
  .pipe(z.string().max(MAX_MESSAGE_LENGTH, `at most ${MAX_MESSAGE_LENGTH} characters`));

export const rolloutFilterSchema = z
  .object({
    location: z.string().min(1).max(200).optional(),
    group: z.string().min(1).max(200).optional(),
    connector: z.string().min(1).max(100).optional(),
    access: z.enum(['none', 'invited', 'active']).optional(),
    status: z.enum(['active', 'deactivated']).optional(),
  })
  .strict();
export type RolloutFilter = z.infer<typeof rolloutFilterSchema>;

export const createRolloutSchema = z
  .object({
    userIds: z.array(z.string().regex(UUID, 'not a user id')).min(1).max(200_000).optional(),
    /** CLI convenience: users by e-mail, resolved in the organization */
    emails: z.array(z.string().min(3).max(254)).min(1).max(200_000).optional(),
    filter: rolloutFilterSchema.optional(),
    loginMethod: z.enum(LOGIN_METHODS as [LoginMethod, ...LoginMethod[]]),
    message: messageSchema.nullable().optional(),
    sendAt: z.union([z.iso.datetime({ offset: true }), z.date()]).optional(),
    resend: z.boolean().default(false),
  })
  .strict()
  .refine((v) => v.userIds || v.emails || v.filter, { message: 'give userIds or a filter' });
export type CreateRolloutInput = z.input<typeof createRolloutSchema>;

export interface RolloutRecord {
  id: string;
  organizationId: string;
  status: RolloutStatus;
  loginMethod: LoginMethod;
  message: string | null;
  sendAt: string;
  resend: boolean;
  selection: { userIds?: string[]; filter?: RolloutFilter; userCount?: number };
  counts: { targeted: number; pending: number; sent: number; skipped: number; failed: number; cancelled: number; accepted: number };
  skippedByReason: Partial<Record<SkipReason, number>>;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

interface RolloutRow {
  id: string;
  organization_id: string;
  status: RolloutStatus;
  login_method: LoginMethod;
  message: string | null;
  send_at: Date;
  resend: boolean;
  selection: { userIds?: string[]; filter?: RolloutFilter };
  batch_size: number;
  targeted: number;
  skipped_by_reason: Partial<Record<SkipReason, number>>;
  error: string | null;
  paused_from: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** 256 random bits, URL-safe. Only its hash is stored. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/**
 * Rollouts: the one way invitations come to exist. Used alike by the CLI, the HTTP API
 * and the queue processors. PostgreSQL holds every rollout and invitation; the queues
 * only carry work in flight and are rebuilt from the store by `reconcile()`.
 */
export class RolloutService {
  readonly settings: InvitationSettings;

  constructor(private readonly deps: RolloutServiceDeps) {
    this.settings = { ...DEFAULT_INVITATION_SETTINGS, ...deps.settings };
  }

  private em(): EntityManager {
    return this.deps.orm.em.fork() as EntityManager;
  }

  // ---- creating and steering -------------------------------------------------------------

  async create(organizationId: string, input: CreateRolloutInput, opts: { createdBy?: string; now?: Date } = {}): Promise<RolloutRecord> {
    const data = createRolloutSchema.parse(input);
    const em = this.em();
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
    const row = await sqlOne<{ id: string }>(
      em,
      `insert into rollouts (organization_id, status, login_method, message, send_at, resend, selection, batch_size, created_by)
       values (?, 'scheduled', ?, ?, ?, ?, ?::jsonb, ?, ?) returning id`,
      [organizationId, data.loginMethod, data.message || null, sendAt, data.resend, JSON.stringify(selection), this.settings.batchSize, opts.createdBy ?? null],
    );
    const id = row!.id;
    this.deps.log.info({ rolloutId: id, organizationId, sendAt: sendAt.toISOString(), loginMethod: data.loginMethod }, 'rollout scheduled');
    await this.safely(() => this.deps.queues.scheduleTrigger(id, sendAt), { rolloutId: id }, 'trigger not queued; the reconciler will queue it');
    return (await this.get(id))!;
  }

  /** Creates a user by hand and, when asked, invites them at once (a rollout of one). */
  async createUser(organizationId: string, input: CreateUserInput, invite?: { loginMethod: LoginMethod; message?: string | null }, createdBy?: string): Promise<{ user: UserRecord; rollout: RolloutRecord | null }> {
    const user = await createUser(this.em(), organizationId, input);
    if (!invite) return { user, rollout: null };
    const rollout = await this.create(organizationId, { userIds: [user.id], loginMethod: invite.loginMethod, message: invite.message ?? null }, { createdBy });
    return { user, rollout };
  }

  async get(id: string, organizationId?: string): Promise<RolloutRecord | null> {
    if (!UUID.test(id)) return null;
    const em = this.em();
    const row = await sqlOne<RolloutRow>(em, `select * from rollouts where id = ?${organizationId ? ' and organization_id = ?' : ''}`, organizationId ? [id, organizationId] : [id]);
    if (!row) return null;
    const counts = await sql<{ status: string; n: string }>(em, `select status, count(*) as n from invitations where rollout_id = ? group by status`, [id]);
    return this.toRecord(row, counts);
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
    const counts = await sql<{ rollout_id: string; status: string; n: string }>(
      em,
      `select rollout_id, status, count(*) as n from invitations where rollout_id in (select jsonb_array_elements_text(?::jsonb)::uuid) group by 1, 2`,
      [JSON.stringify(rows.map((r) => r.id))],
    );
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
      },
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
      const done = await sql(
        t,
        `update rollouts set status = ?, paused_from = case when ? = 'paused' then status else paused_from end,
                finished_at = case when ? = 'cancelled' then now() else finished_at end, updated_at = now()
          where id = ? and status = ? returning id`,
        [target, target, target, id, current.status],
      );
      if (done.length === 0) throw new AppError('rollout_invalid_state', `rollout ${id} changed meanwhile; try again`);
      if (target === 'cancelled') {
        await sql(t, `update invitations set status = 'cancelled', last_error = 'rollout_cancelled', updated_at = now() where rollout_id = ? and status = 'pending'`, [id]);
      }
    });
    this.deps.log.info({ rolloutId: id, from: current.status, to: target }, `rollout ${action}`);
    if (target === 'cancelled' || (target === 'paused' && current.status === 'scheduled')) {
      await this.safely(() => this.deps.queues.removeTrigger(id), { rolloutId: id }, 'trigger not removed; it will find the rollout not scheduled');
    }
    if (target === 'scheduled') await this.safely(() => this.deps.queues.scheduleTrigger(id, new Date(current.sendAt)), { rolloutId: id }, 'trigger not queued; the reconciler will queue it');
    if (target === 'running') await this.safely(() => this.enqueuePending(id), { rolloutId: id }, 'batches not queued; the reconciler will queue them');
    return (await this.get(id))!;
  }

  private async safely(fn: () => Promise<void>, ids: Record<string, string>, msg: string): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.log.warn({ ...ids, err: (err as Error).message }, msg);
    }
  }

  // ---- the trigger: resolve the selection when the rollout fires ----------------------------

  /**
   * Fires a scheduled rollout whose time has come: resolves the selection now, creates the
   * invitations in bulk (one per user, by constraint) and queues their batches.
   * Safe to run twice: only one call moves the rollout from scheduled to running.
   */
  async fire(id: string, now: Date = new Date()): Promise<{ fired: boolean; targeted: number; batches: number }> {
    const em = this.em();
    const batchCount = await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      const row = await sqlOne<RolloutRow>(
        t,
        `update rollouts set status = 'running', started_at = now(), updated_at = now()
          where id = ? and status = 'scheduled' and send_at <= ? returning *`,
        [id, new Date(now.getTime() + 1_000)],
      );
      if (!row) return null;
      const candidates = await this.candidates(t, row);
      const plan = planRollout(candidates, { resend: row.resend, requestedIds: row.selection.userIds });
      const size = row.batch_size;
      for (let i = 0; i < plan.targets.length; i += 5_000) {
        const chunk = plan.targets.slice(i, i + 5_000).map((userId, k) => ({ user_id: userId, batch: Math.floor((i + k) / size) }));
        if (row.resend) {
          // A new link replaces the one sent before: the old one stops working.
          await sql(t, `update invitations set status = 'revoked', updated_at = now() where user_id in (select (x->>'user_id')::uuid from jsonb_array_elements(?::jsonb) x) and status = 'sent' and rollout_id <> ?`,
            [JSON.stringify(chunk), id]);
        }
        await sql(
          t,
          `insert into invitations (rollout_id, organization_id, user_id, batch, login_method)
           select ?, ?, x.user_id, x.batch, ? from jsonb_to_recordset(?::jsonb) as x(user_id uuid, batch int)
           on conflict (rollout_id, user_id) do nothing`,
          [id, row.organization_id, row.login_method, JSON.stringify(chunk)],
        );
      }
      const batches = Math.ceil(plan.targets.length / size);
      await sql(
        t,
        `update rollouts set targeted = ?, skipped_by_reason = ?::jsonb,
                status = case when ? = 0 then 'completed' else status end,
                finished_at = case when ? = 0 then now() else finished_at end
          where id = ?`,
        [plan.targets.length, JSON.stringify(plan.skipped), plan.targets.length, plan.targets.length, id],
      );
      this.deps.log.info({ rolloutId: id, targeted: plan.targets.length, skipped: plan.skipped, batches }, 'rollout fired');
      return { targeted: plan.targets.length, batches };
    });
    if (!batchCount) return { fired: false, targeted: 0, batches: 0 };
    if (batchCount.targeted >= ANALYZE_AFTER_TARGETS) {
      // Until autovacuum gets to them, the planner does not know these rows: a batch's claim
      // would walk every pending invitation of the rollout instead of its batch (index on
      // rollout, batch, status). Fresh statistics before the first batch runs.
      await this.safely(async () => void (await sql(this.em(), 'analyze invitations')), { rolloutId: id }, 'invitations not analyzed; autovacuum will');
    }
    if (batchCount.batches > 0) {
      await this.safely(
        () => this.deps.queues.enqueueBatches(id, Array.from({ length: batchCount.batches }, (_, i) => i)),
        { rolloutId: id },
        'batches not queued; the reconciler will queue them',
      );
    }
    return { fired: true, ...batchCount };
  }

  /** The users a selection names, resolved against the store as it is now, within the organization. */
  private async candidates(em: EntityManager, row: RolloutRow): Promise<RolloutCandidate[]> {
    const { where, params } = selectionWhere(row.organization_id, row.selection);
    const rows = await sql<{ id: string; status: 'active' | 'deactivated'; access: 'none' | 'invited' | 'active'; email: string | null; pending: boolean }>(
      em,
      `select u.id, u.status, u.access, u.email,
              exists (select 1 from invitations i where i.user_id = u.id and i.status in ('pending', 'sending') and i.rollout_id <> ?) as pending
         from users u where ${where.join(' and ')} order by u.seq`,
      [row.id, ...params],
    );
    return rows.map((r) => ({ id: r.id, status: r.status, access: r.access, email: r.email, pendingElsewhere: r.pending }));
  }

  // ---- a batch: render and send, a few messages at a time --------------------------------------

  /**
   * Sends the pending invitations of one batch. Each message is claimed with a guarded
   * update (pending → sending, only while the rollout runs), sent, then marked sent, so a
   * retried or duplicated batch never sends a `sent` invitation again. A rejected address
   * fails that invitation only; a transient failure puts the message back and throws so
   * the queue retries the batch with backoff.
   */
  async sendBatch(id: string, batch: number, mail: MailPort, opts: { signal?: AbortSignal; log?: Logger } = {}): Promise<{ sent: number; failed: number; stopped: boolean }> {
    const log = opts.log ?? this.deps.log.child({ rolloutId: id, batch });
    const lockBatch = this.deps.lockBatch;
    if (!lockBatch) return this.sendBatchHeld(id, batch, mail, { ...opts, log });
    let lock = await lockBatch(id, batch);
    if (!lock) {
      // Another run of this batch is sending it (its job was queued again while it ran): it
      // finishes the batch; what it leaves, the reconciler queues again.
      log.info('batch is being sent by another run; this one stops');
      return { sent: 0, failed: 0, stopped: true };
    }
    try {
      return await this.sendBatchHeld(id, batch, mail, {
        ...opts,
        log,
        // The lock's session dropped (a database restart): take the lock again before the next
        // chunk, or stop if another run took the batch meanwhile.
        stillHeld: async () => {
          if (lock!.held) return true;
          await lock!.release();
          lock = await lockBatch(id, batch);
          return lock !== null;
        },
      });
    } finally {
      await lock?.release();
    }
  }

  private async sendBatchHeld(
    id: string,
    batch: number,
    mail: MailPort,
    opts: { signal?: AbortSignal; log: Logger; stillHeld?: () => Promise<boolean> },
  ): Promise<{ sent: number; failed: number; stopped: boolean }> {
    const log = opts.log;
    const em = this.em();
    const rollout = await sqlOne<RolloutRow & { organization_name: string }>(
      em,
      `select r.*, o.name as organization_name from rollouts r join organizations o on o.id = r.organization_id where r.id = ?`,
      [id],
    );
    if (!rollout) return { sent: 0, failed: 0, stopped: true };
    // We hold this batch (its lock, and its job): messages left `sending` were in flight when an earlier run died.
    await sql(em, `update invitations set status = 'pending', token_hash = null, updated_at = now() where rollout_id = ? and batch = ? and status = 'sending'`, [id, batch]);
    // Users who lost their e-mail or were deactivated since the rollout fired are not invited.
    // (From the batch's invitations to their users by key: the planner would rather scan every
    // user for the few it expects to be deactivated.)
    await sql(
      em,
      `update invitations i set status = 'cancelled', last_error = case when u.status <> 'active' then 'user_deactivated' else 'no_email' end, updated_at = now()
         from users u
        where i.id = any(array(select p.id from invitations p where p.rollout_id = ? and p.batch = ? and p.status = 'pending'))
          and i.status = 'pending' and u.id = i.user_id and (u.status <> 'active' or u.email is null)`,
      [id, batch],
    );
    let sent = 0;
    let failed = 0;
    let transient: Error | null = null;
    for (;;) {
      if (opts.signal?.aborted) return { sent, failed, stopped: true };
      if (opts.stillHeld && !(await opts.stillHeld())) return { sent, failed, stopped: true };
      const n = this.settings.chunkSize;
      await this.deps.rateLimit?.(n);
      const tokens = Array.from({ length: n }, () => newToken());
      const expiresAt = new Date(Date.now() + this.settings.tokenTtlMs);
      const claimed = await sql<{ id: string; rn: string; user_id: string; email: string; first_name: string | null; last_name: string | null }>(
        em,
        // The batch's pending ids come first (index on rollout, batch, status), and the rows are
        // then locked by primary key: left to itself the planner may walk the whole table in id
        // order for the `order by … limit`, or every pending row of the rollout.
        `with c as (
           select id, row_number() over (order by id) as rn from (
             select i.id from invitations i
              where i.id = any(array(select p.id from invitations p where p.rollout_id = ? and p.batch = ? and p.status = 'pending'))
                and i.status = 'pending'
                and exists (select 1 from rollouts r where r.id = i.rollout_id and r.status = 'running')
              order by i.id limit ? for update skip locked) s),
         t as (select ord as rn, val as hash from jsonb_array_elements_text(?::jsonb) with ordinality as x(val, ord))
         update invitations i set status = 'sending', token_hash = t.hash, expires_at = ?, attempts = i.attempts + 1, updated_at = now()
           from c join t on t.rn = c.rn, users u
          where i.id = c.id and u.id = i.user_id
         returning i.id, c.rn, i.user_id, u.email, u.first_name, u.last_name`,
        [id, batch, n, JSON.stringify(tokens.map(hashToken)), expiresAt],
      );
      if (claimed.length === 0) break;
      const results = await Promise.allSettled(
        claimed.map((c) =>
          mail.send({
            invitationId: c.id,
            to: c.email,
            firstName: c.first_name,
            lastName: c.last_name,
            organizationName: rollout.organization_name,
            loginMethod: rollout.login_method,
            message: rollout.message,
            token: tokens[Number(c.rn) - 1],
            expiresAt,
          }),
        ),
      );
      const ok: Array<{ id: string; user_id: string }> = [];
      const bad: Array<{ id: string; error: string }> = [];
      const retry: string[] = [];
      results.forEach((r, k) => {
        if (r.status === 'fulfilled') ok.push(claimed[k]);
        else if ((r.reason as { permanent?: boolean })?.permanent) bad.push({ id: claimed[k].id, error: mailErrorCode(r.reason) });
        else {
          retry.push(claimed[k].id);
          transient = r.reason as Error;
        }
      });
      // One statement records the whole chunk (sent, invited, failed, back to pending): atomic
      // like a transaction, in one round trip instead of BEGIN + up to four updates + COMMIT.
      await sql(em, RECORD_CHUNK_SQL, [
        JSON.stringify(ok.map((o) => o.id)),
        JSON.stringify(ok.map((o) => o.user_id)),
        JSON.stringify(bad),
        JSON.stringify(retry),
      ]);
      sent += ok.length;
      failed += bad.length;
      if (bad.length > 0) log.warn({ invitationIds: bad.map((b) => b.id), reasons: bad.map((b) => b.error) }, 'invitations failed permanently');
      if (transient) break;
    }
    if (transient) {
      log.warn({ sent, failed, err: mailErrorCode(transient) }, 'transient mail failure; the batch will be retried');
      throw new TransientMailError(`transient mail failure: ${mailErrorCode(transient)}`);
    }
    await this.completeIfDone(id);
    log.debug({ sent, failed }, 'batch done');
    return { sent, failed, stopped: false };
  }

  /** After a batch gave up retrying: its pending messages fail, and the rollout can finish. */
  async failBatch(id: string, batch: number, reason: string): Promise<void> {
    await sql(this.em(), `update invitations set status = 'failed', token_hash = null, last_error = ?, updated_at = now() where rollout_id = ? and batch = ? and status in ('pending', 'sending')`, [reason, id, batch]);
    await this.completeIfDone(id);
  }

  async completeIfDone(id: string): Promise<boolean> {
    const done = await sql(
      this.em(),
      `update rollouts set status = 'completed', finished_at = now(), updated_at = now()
        where id = ? and status = 'running'
          and not exists (select 1 from invitations where rollout_id = ? and status in ('pending', 'sending'))
       returning id`,
      [id, id],
    );
    if (done.length > 0) this.deps.log.info({ rolloutId: id }, 'rollout completed');
    return done.length > 0;
  }

  private async enqueuePending(id: string): Promise<void> {
    const rows = await sql<{ batch: number }>(this.em(), `select distinct batch from invitations where rollout_id = ? and status in ('pending', 'sending') order by batch`, [id]);
    if (rows.length > 0) await this.deps.queues.enqueueBatches(id, rows.map((r) => r.batch), { replaceFinished: true });
    else await this.completeIfDone(id);
  }

  // ---- the store is the truth: rebuild the queues from it --------------------------------------

  /**
   * Re-creates whatever Redis lost: the trigger jobs of scheduled rollouts and the batch
   * jobs of running rollouts' pending invitations. Run on worker start and periodically.
   */
  async reconcile(): Promise<{ triggers: number; batches: number; completed: number }> {
    const em = this.em();
    const [triggers, queued] = await Promise.all([this.deps.queues.queuedTriggers(), this.deps.queues.queuedBatches()]);
    let addedTriggers = 0;
    let addedBatches = 0;
    let completed = 0;
    const scheduled = await sql<{ id: string; send_at: Date }>(em, `select id, send_at from rollouts where status = 'scheduled'`);
    for (const r of scheduled) {
      if (triggers.has(r.id)) continue;
      await this.deps.queues.scheduleTrigger(r.id, new Date(r.send_at));
      addedTriggers++;
    }
    const pending = await sql<{ rollout_id: string; batches: number[] }>(
      em,
      `select i.rollout_id, array_agg(distinct i.batch) as batches
         from invitations i join rollouts r on r.id = i.rollout_id
        where r.status = 'running' and i.status in ('pending', 'sending')
        group by i.rollout_id`,
    );
    const withWork = new Set<string>();
    for (const p of pending) {
      withWork.add(p.rollout_id);
      const have = queued.get(p.rollout_id) ?? new Set<number>();
      const missing = p.batches.filter((b) => !have.has(b));
      if (missing.length > 0) {
        await this.deps.queues.enqueueBatches(p.rollout_id, missing, { replaceFinished: true });
        addedBatches += missing.length;
      }
    }
    const running = await sql<{ id: string }>(em, `select id from rollouts where status = 'running'`);
    for (const r of running) if (!withWork.has(r.id) && (await this.completeIfDone(r.id))) completed++;
    if (addedTriggers + addedBatches + completed > 0) this.deps.log.info({ triggers: addedTriggers, batches: addedBatches, completed }, 'queues reconciled from the store');
    return { triggers: addedTriggers, batches: addedBatches, completed };
  }

  // ---- accepting ------------------------------------------------------------------------------

  /**
   * A valid, unexpired, unused token makes its user active. Expired, used, revoked or
   * unknown tokens — or one of another organization — all get the same answer.
   */
  async accept(token: string, organizationId?: string): Promise<{ userId: string; organizationId: string }> {
    const invalid = new AppError('invitation_invalid', 'this invitation link is invalid or has expired');
    if (typeof token !== 'string' || token.length < 20 || token.length > 200) throw invalid;
    const em = this.em();
    const result = await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      const row = await sqlOne<{ user_id: string; organization_id: string }>(
        t,
        `update invitations i set status = 'accepted', accepted_at = now(), token_hash = null, updated_at = now()
           from users u
          where i.token_hash = ? and i.status = 'sent' and i.expires_at > now() and u.id = i.user_id and u.status = 'active'
            ${organizationId ? 'and i.organization_id = ?' : ''}
         returning i.user_id, i.organization_id`,
        organizationId ? [hashToken(token), organizationId] : [hashToken(token)],
      );
      if (!row) return null;
      await sql(t, `update users set access = 'active', updated_at = now() where id = ?`, [row.user_id]);
      return row;
    });
    if (!result) throw invalid;
    this.deps.log.info({ userId: result.user_id, organizationId: result.organization_id }, 'invitation accepted');
    return { userId: result.user_id, organizationId: result.organization_id };
  }
}

/**
 * A JSON list of ids as a uuid[] for `id = any(…)`: always a primary-key lookup. (`id in (select
 * jsonb_array_elements_text(…))` is planned for 100 rows, and can become a hash join over a
 * sequential scan of the whole table.)
 */
const jsonUuids = `array(select jsonb_array_elements_text(?::jsonb)::uuid)`;

/**
 * Records one sent chunk: sent invitations (guarded: still `sending`) and their users now
 * invited, permanent failures, and transient ones back to pending. PostgreSQL runs every
 * data-modifying CTE exactly once, all in the statement's one snapshot and transaction.
 */
const RECORD_CHUNK_SQL = `
  with sent as (
         update invitations set status = 'sent', sent_at = now(), updated_at = now()
          where id = any(${jsonUuids}) and status = 'sending' returning 1),
       invited as (
         update users set access = 'invited', updated_at = now()
          where id = any(${jsonUuids}) and access = 'none' returning 1),
       failed as (
         update invitations i set status = 'failed', token_hash = null, last_error = x.error, updated_at = now()
           from jsonb_to_recordset(?::jsonb) as x(id uuid, error text) where i.id = x.id and i.status = 'sending' returning 1),
       retried as (
         update invitations set status = 'pending', token_hash = null, last_error = 'transient', updated_at = now()
          where id = any(${jsonUuids}) and status = 'sending' returning 1)
  select 1`;

export class TransientMailError extends Error {
  override readonly name = 'TransientMailError';
}

/** A short code for a mail failure, never the address or the server's full text. */
function mailErrorCode(err: unknown): string {
  const e = err as { responseCode?: number; code?: string; reason?: string };
  if (e?.reason) return String(e.reason);
  if (e?.responseCode) return `smtp_${e.responseCode}`;
  if (e?.code) return String(e.code).toLowerCase();
  return 'send_failed';
}

export interface Selection {
  userIds?: string[];
  filter?: RolloutFilter;
}

/**
 * The WHERE clause (over `users u`) of a selection: ids and/or filters, case-insensitive
 * names, always within the organization. Used when a rollout fires and by the dashboard's
 * preview, so both count the same people. The location and group lookups are uncorrelated
 * — one lookup, not one per user.
 */
export function selectionWhere(organizationId: string, sel: Selection): { where: string[]; params: unknown[] } {
  const where = ['u.organization_id = ?'];
  const params: unknown[] = [organizationId];
  const { userIds, filter } = sel;
  if (userIds) { where.push('u.id in (select jsonb_array_elements_text(?::jsonb)::uuid)'); params.push(JSON.stringify(userIds)); }
  if (filter?.location) { where.push('u.location_id in (select id from locations where organization_id = ? and lower(name) = lower(?))'); params.push(organizationId, filter.location); }
  if (filter?.group) { where.push(`u.id in (select gm.user_id from group_memberships gm join groups g on g.id = gm.group_id where g.organization_id = ? and lower(g.name) = lower(?))`); params.push(organizationId, filter.group); }
  if (filter?.connector) { where.push('u.connector_id = ?'); params.push(filter.connector); }
  if (filter?.access) { where.push('u.access = ?'); params.push(filter.access); }
  if (filter?.status) { where.push('u.status = ?'); params.push(filter.status); }
  return { where, params };
}
