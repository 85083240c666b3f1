import { z } from 'zod';
import { AppError } from '../../src/lib/errors.js';
import type { HrConnector } from '../types.js';

export const scimOptionsSchema = z
  .object({
    /**
     * The sliding window over which SCIM deactivations (`active: false`, DELETE) count against the
     * connector's `deactivation` threshold: a burst above it is held for approval.
     */
    deactivationWindowMinutes: z.number().positive().max(7 * 24 * 60).default(60),
  })
  .strict();
export type ScimOptions = z.infer<typeof scimOptionsSchema>;

/**
 * A SCIM 2.0 client (Entra ID, Okta, OneLogin, JumpCloud …) pushing users into one organization
 * at /scim/v2. Nothing is pulled: each SCIM write is applied as a small run of this connector
 * (src/sync/targeted-run.ts) under the same rules as a pull. A full run is refused, because an
 * empty "listing" would look like everyone left.
 */
export const scimConnector: HrConnector<ScimOptions> = {
  type: 'scim',
  configSchema: scimOptionsSchema,
  supportsIncremental: false,

  async checkConnection() {
    // Nothing to reach: the identity provider calls hrsync.
  },

  // eslint-disable-next-line require-yield
  async *listEmployees() {
    throw new AppError(
      'validation_failed',
      'a SCIM connector is not pulled: its identity provider pushes changes to /scim/v2 (each change is its own run)',
    );
  },
};
