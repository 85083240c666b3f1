import { z } from 'zod';
import type { Orm } from '../db/orm.js';
import { LOGIN_METHODS, type LoginMethod } from '../domain/rollout-plan.js';
import type { Logger } from '../lib/logger.js';
import { rolloutFilterSchema, MAX_MESSAGE_LENGTH } from '../invitations/rollout-types.js';

/** How the rule and lifecycle services reach the queues (BullMQ in jobs/; anything in tests). */
export interface LifecycleQueuePort {
  /** A delayed job at `at` that turns a rule's due plans into rollouts; deterministic id per (rule, moment). */
  scheduleRuleMoment(ruleId: string, at: Date): Promise<void>;
  /** A delayed job at `at` that applies an organization's due planned deactivations; deterministic id per (organization, moment). */
  scheduleDeactivations(organizationId: string, at: Date): Promise<void>;
}

/** The selection of a rule: the rollout filters (location, group, connector, status). People without a start date never match. */
export const ruleFilterSchema = rolloutFilterSchema.omit({ access: true });

const messageSchema = z
  .string()
  .transform((s) => s.replace(/\r\n?/g, '\n').replace(/[\u0000-\u0009\u000b-\u001f\u007f]/g, '').trim())
  .pipe(z.string().max(MAX_MESSAGE_LENGTH, `at most ${MAX_MESSAGE_LENGTH} characters`));

const ruleFields = {
  name: z.string().trim().min(1).max(200),
  filter: ruleFilterSchema,
  daysBefore: z.number().int().min(0).max(365),
  localTime: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'a local time HH:MM (24 h)'),
  loginMethod: z.enum(LOGIN_METHODS as [LoginMethod, ...LoginMethod[]]),
  message: messageSchema.nullable(),
  enabled: z.boolean(),
  /** rehired people (deactivated before, active again) count as joiners */
  rehires: z.boolean(),
  /** remind N days before the link expires, at most K times; null: the organization's default */
  reminders: z.object({ daysBeforeExpiry: z.number().int().min(1).max(90), maxTimes: z.number().int().min(0).max(10) }).strict().nullable(),
};

export const ruleInputSchema = z
  .object({
    ...ruleFields,
    filter: ruleFields.filter.default({}),
    message: ruleFields.message.optional(),
    enabled: ruleFields.enabled.default(false),
    rehires: ruleFields.rehires.default(false),
    reminders: ruleFields.reminders.optional(),
  })
  .strict();
export type RuleInput = z.input<typeof ruleInputSchema>;
/** A change: only the fields given (no defaults: an absent field stays as it is). */
export const ruleUpdateSchema = z.object(ruleFields).partial().strict();
export type RuleUpdate = z.input<typeof ruleUpdateSchema>;

export interface RuleRecord {
  id: string;
  organizationId: string;
  name: string;
  enabled: boolean;
  filter: z.infer<typeof ruleFilterSchema>;
  daysBefore: number;
  localTime: string;
  loginMethod: LoginMethod;
  message: string | null;
  rehires: boolean;
  reminders: { daysBeforeExpiry: number; maxTimes: number } | null;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: string;
  updatedAt: string;
  /** planned invitations still to come */
  planned?: number;
}

export interface RuleRow {
  id: string;
  organization_id: string;
  name: string;
  enabled: boolean;
  filter: z.infer<typeof ruleFilterSchema>;
  days_before: number;
  local_time: string;
  login_method: LoginMethod;
  message: string | null;
  rehires: boolean;
  remind_days_before: number | null;
  remind_max: number | null;
  created_by: string | null;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export function toRuleRecord(r: RuleRow): RuleRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    enabled: r.enabled,
    filter: r.filter ?? {},
    daysBefore: r.days_before,
    localTime: r.local_time,
    loginMethod: r.login_method,
    message: r.message,
    rehires: r.rehires,
    reminders: r.remind_days_before !== null && r.remind_max !== null ? { daysBeforeExpiry: r.remind_days_before, maxTimes: r.remind_max } : null,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

/** One line of a preview: who, when, in which zone. */
export interface PreviewEntry {
  userId: string;
  firstName: string | null;
  lastName: string | null;
  location: string | null;
  startDate: string;
  timeZone: string;
  at: string;
}

export interface RuleServiceDeps {
  orm: Orm;
  log: Logger;
  queues: LifecycleQueuePort;
  /** the organization's reminder default (config), for rules that set none */
  reminderDefault?: (organizationId: string) => { daysBeforeExpiry: number; maxTimes: number } | null;
  /** the time (injectable for tests); default: the system clock */
  clock?: () => Date;
}

