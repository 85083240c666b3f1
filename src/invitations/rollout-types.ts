import { z } from 'zod';
import type { Orm } from '../db/orm.js';
import { LOGIN_METHODS, type LoginMethod, type RolloutStatus, type SkipReason } from '../domain/rollout-plan.js';
import type { Logger } from '../lib/logger.js';
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

/** One invitation e-mail to send. The token is in the clear here and in the store only until it is sent. */
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
  /** the n-th reminder (1, 2, …) of this invitation, not yet accepted; absent for the invitation itself */
  reminder?: number;
}

/** Sends one message; throws (a MailSendError, ideally) when it was not accepted. */
export interface MailPort {
  send(msg: InvitationMessage): Promise<void>;
}

export interface InvitationSettings {
  batchSize: number;
  /** messages claimed (and checked against pause/cancel) at a time */
  chunkSize: number;
  tokenTtlMs: number;
  /** The same permanent refusal for this many different recipients in a row pauses the rollout. */
  pauseAfterSameRefusals: number;
}

export const DEFAULT_INVITATION_SETTINGS: InvitationSettings = { batchSize: 250, chunkSize: 25, tokenTtlMs: 7 * 24 * 3_600_000, pauseAfterSameRefusals: 5 };

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
  /** The organization's reminder default (config `reminders`), for rollouts that set none. */
  reminderDefault?: (organizationId: string) => ReminderPolicy | null;
}

/** Remind N days before the link expires, at most K times. */
export interface ReminderPolicy {
  daysBeforeExpiry: number;
  maxTimes: number;
}

export interface CreateRolloutOptions {
  createdBy?: string;
  now?: Date;
  /** the invitation rule whose moment this rollout is */
  ruleId?: string;
  /** the reminders of its invitations (null: none); by default the organization's */
  reminders?: ReminderPolicy | null;
}

export const MAX_MESSAGE_LENGTH = 500;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
    /** a search text (the dashboard's "all matching"): e-mail, name or employee id, case- and accent-insensitive */
    search: z.string().trim().min(1).max(200).optional(),
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
  counts: { targeted: number; pending: number; sent: number; skipped: number; failed: number; cancelled: number; accepted: number; reminded: number };
  /** the invitation rule whose moment made this rollout, if any */
  ruleId: string | null;
  skippedByReason: Partial<Record<SkipReason, number>>;
  /** Why the rollout stopped by itself (a mail server refusing the sender, …): null otherwise. */
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RolloutRow {
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
  rule_id: string | null;
  remind_days_before: number | null;
  remind_max: number;
  reminded: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** What the jobs of a rollout share: the store, the log, the queues and the settings. */
export interface RolloutContext {
  deps: RolloutServiceDeps;
  settings: InvitationSettings;
}
