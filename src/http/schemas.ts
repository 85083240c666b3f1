import { scopeRuleSchema } from '../config/schema.js';
import { z } from 'zod';
import { SYNC_RUN_STATUSES } from '../db/sync-run-types.js';
import { LOGIN_METHODS, type LoginMethod } from '../domain/rollout-plan.js';
import { rolloutFilterSchema, MAX_MESSAGE_LENGTH } from '../invitations/rollout-service.js';
import { createUserSchema, updateUserSchema } from '../users/user-service.js';

/** Request schemas: the same zod objects validate requests and describe them in /api/openapi.json. */

const orgId = z.string().min(1).max(63).optional().describe('admin token only: the organization acted on');
const loginMethod = z.enum(LOGIN_METHODS as [LoginMethod, ...LoginMethod[]]);
const uuid = z.uuid();

/**
 * The instants every layer can hold: JavaScript dates reach ±275760 years and PostgreSQL's
 * timestamptz 4713 BC to 294276 AD, but year 0 and extended years (`+275760-…`) fail on the
 * way (a 500); ISO 8601 with four-digit years from 0001 is what the API takes.
 */
export const MIN_TIMESTAMP_MS = Date.parse('0001-01-01T00:00:00.000Z');
export const MAX_TIMESTAMP_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** A Date (or date text) the store can hold: four-digit year 0001–9999. */
export function inTimestampRange(value: string | Date): boolean {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) && ms >= MIN_TIMESTAMP_MS && ms <= MAX_TIMESTAMP_MS && (value instanceof Date || /^\d{4}-/.test(value));
}

/** An ISO 8601 date-time with an offset, in the range the store holds. */
export const timestamp = () =>
  z.iso.datetime({ offset: true }).refine((v) => inTimestampRange(v), { message: 'must be a date-time from 0001-01-01 to 9999-12-31' });

export const listUsersQuery = z
  .object({
    organizationId: orgId,
    status: z.enum(['active', 'deactivated']).optional(),
    access: z.enum(['none', 'invited', 'active']).optional(),
    locationId: z.string().max(64).optional(),
    groupId: z.string().max(64).optional(),
    q: z.string().max(200).optional(),
    cursor: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
  })
  .strict();

export const createUserBody = createUserSchema
  .extend({
    organizationId: orgId,
    invite: z.object({ loginMethod, message: z.string().max(MAX_MESSAGE_LENGTH).nullable().optional() }).strict().optional(),
  })
  .strict();

export const updateUserBody = updateUserSchema;

export const createRolloutBody = z
  .object({
    organizationId: orgId,
    userIds: z.array(uuid).min(1).max(200_000).optional(),
    filter: rolloutFilterSchema.optional(),
    loginMethod,
    message: z.string().max(MAX_MESSAGE_LENGTH).nullable().optional(),
    sendAt: timestamp().optional(),
    resend: z.boolean().optional(),
  })
  .strict();

export const listRolloutsQuery = z
  .object({
    organizationId: orgId,
    status: z.enum(['scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed']).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    before: timestamp().optional(),
  })
  .strict();

export const acceptBody = z.object({ token: z.string().min(1).max(200), organizationId: z.string().max(63).optional() }).strict();

/** Steering and approving take no body: an empty one or `{}`; anything else is a 400, not silently ignored. */
export const emptyBody = z.object({}).strict();

export const triggerSyncBody = z
  .object({
    dryRun: z.boolean().optional(),
    /** "Sync this person now": looked up by id at the HR system and applied at once (trigger on_demand). */
    employeeId: z.string().trim().min(1).max(100).optional(),
    employeeIds: z.array(z.string().trim().min(1).max(100)).min(1).max(5).optional(),
    /** With dryRun: what these scoping rules would do, before they are saved. */
    scope: z.object({ include: z.array(scopeRuleSchema).default([]), exclude: z.array(scopeRuleSchema).default([]) }).strict().optional(),
  })
  .strict()
  .refine((b) => !b.scope || b.dryRun === true, { message: 'scope: a scope override is for dry runs only (dryRun: true)' })
  .refine((b) => !(b.dryRun && (b.employeeId || b.employeeIds)), { message: 'a one-person sync is applied, not planned: drop dryRun' });

export const listRunsQuery = z
  .object({
    organizationId: orgId,
    connectorId: z.string().max(63).optional(),
    status: z.enum(SYNC_RUN_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    before: timestamp().optional(),
  })
  .strict();

export const idParams = z.object({ id: z.string().min(1).max(100) }).strict();
export const organizationQuery = z.object({ organizationId: orgId }).strict();
