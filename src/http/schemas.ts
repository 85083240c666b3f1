import { z } from 'zod';
import { SYNC_RUN_STATUSES } from '../db/sync-run-types.js';
import { LOGIN_METHODS, type LoginMethod } from '../domain/rollout-plan.js';
import { rolloutFilterSchema, MAX_MESSAGE_LENGTH } from '../invitations/rollout-service.js';
import { createUserSchema, updateUserSchema } from '../users/user-service.js';

/** Request schemas: the same zod objects validate requests and describe them in /api/openapi.json. */

const orgId = z.string().min(1).max(63).optional().describe('admin token only: the organization acted on');
const loginMethod = z.enum(LOGIN_METHODS as [LoginMethod, ...LoginMethod[]]);
const uuid = z.uuid();

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
    sendAt: z.iso.datetime({ offset: true }).optional(),
    resend: z.boolean().optional(),
  })
  .strict();

export const listRolloutsQuery = z
  .object({
    organizationId: orgId,
    status: z.enum(['scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed']).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    before: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const acceptBody = z.object({ token: z.string().min(1).max(200), organizationId: z.string().max(63).optional() }).strict();

/** Steering and approving take no body: an empty one or `{}`; anything else is a 400, not silently ignored. */
export const emptyBody = z.object({}).strict();

export const triggerSyncBody = z.object({ dryRun: z.boolean().optional() }).strict();

export const listRunsQuery = z
  .object({
    organizationId: orgId,
    connectorId: z.string().max(63).optional(),
    status: z.enum(SYNC_RUN_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    before: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export const idParams = z.object({ id: z.string().min(1).max(100) }).strict();
export const organizationQuery = z.object({ organizationId: orgId }).strict();
