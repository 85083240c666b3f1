import { z } from 'zod';

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'must be 1-63 letters, digits, "-" or "_"');

/** Where a store field comes from, and whether sync keeps it up to date ("always") or only sets it on create. */
export const mappingEntrySchema = z.union([
  z.string().min(1),
  z.object({ from: z.string().min(1), mode: z.enum(['always', 'on_create']).default('always') }).strict(),
  z.null(),
]);

export const mappingSchema = z
  .object({
    location: mappingEntrySchema.optional(),
    group: mappingEntrySchema.optional(),
    jobTitle: mappingEntrySchema.optional(),
    firstName: mappingEntrySchema.optional(),
    lastName: mappingEntrySchema.optional(),
    /** user attribute name → HR field (custom fields; `attributes.<key>` or a normalized field name) */
    attributes: z.record(z.string(), mappingEntrySchema).optional(),
  })
  .strict();

/** One scoping rule: an HR field (department, location, jobTitle, emailDomain, or a vendor attribute such as legalEntity) and its values. */
export const scopeRuleSchema = z
  .object({ field: z.string().min(1).max(100), values: z.array(z.string().min(1).max(200)).min(1).max(1_000) })
  .strict();

/**
 * Who a connector syncs at all, decided on HR fields before matching: people outside are never
 * created, and those who leave the scope are deactivated like leavers (the same thresholds).
 */
export const scopeSchema = z
  .object({
    includeInactive: z.boolean().default(true),
    include: z.array(scopeRuleSchema).max(50).default([]),
    exclude: z.array(scopeRuleSchema).max(50).default([]),
  })
  .strict();

export const connectorSchema = z
  .object({
    id,
    type: z.string().min(1),
    schedule: z.string().min(1).optional(),
    timezone: z.string().min(1).optional(),
    options: z.record(z.string(), z.unknown()).default({}),
    mapping: mappingSchema.default({}),
    scope: scopeSchema.default({ includeInactive: true, include: [], exclude: [] }),
    deactivation: z
      .object({
        maxPercent: z.number().min(0).max(100).optional(),
        maxCount: z.number().int().min(0).optional(),
      })
      .strict()
      .default({}),
    /** Signed webhooks from the HR system (bamboohr, hibob, personio): POST /hooks/<connector id>. */
    webhook: z
      .object({
        /** The webhook's signing secret, as the vendor shows it (write it as ${ENV_NAME}). */
        secret: z.string().min(8, 'must be at least 8 characters'),
        /** Events naming the same person within this many milliseconds make one look-up. */
        debounceMs: z.number().int().min(0).max(60_000).default(500),
        /** The sliding window over which pushed deactivations count against `deactivation`. */
        windowMinutes: z.number().positive().max(7 * 24 * 60).default(60),
      })
      .strict()
      .optional(),
    incremental: z
      .object({
        enabled: z.boolean().default(false),
        fullSyncEveryHours: z.number().positive().default(24),
      })
      .strict()
      .default({ enabled: false, fullSyncEveryHours: 24 }),
  })
  .strict();

/** An IANA time zone the runtime knows (Europe/Berlin, America/New_York, UTC). */
const timeZone = z.string().min(1).max(64).refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'not an IANA time zone (e.g. Europe/Berlin)');

/** Remind N days before an invitation link expires, at most K times (0: never). */
export const reminderPolicySchema = z.object({ daysBeforeExpiry: z.number().int().min(1).max(90), maxTimes: z.number().int().min(0).max(10) }).strict();

/** The notification events (src/notifications/events.ts; docs/notifications.md). */
export const NOTIFICATION_EVENT_TYPES = [
  'sync.run.held',
  'sync.run.failed',
  'connector.credentials_failed',
  'rollout.paused',
  'rollout.failed',
  'rollout.completed',
  'invitation.accepted',
  'rules.deactivations_over_threshold',
] as const;
const notificationEventType = z.enum(NOTIFICATION_EVENT_TYPES);

/** Where an organization's administrators are told what happened: signed webhooks and e-mail. */
export const notificationsSchema = z
  .object({
    webhooks: z
      .array(
        z
          .object({
            id,
            url: z.url({ protocol: /^https?$/ }).max(2_000),
            /** The endpoint's signing secret (write it as ${ENV_NAME}); receivers check HMAC-SHA256 with it. */
            secret: z.string().min(16, 'must be at least 16 characters'),
            /** Which events go there (default: all). */
            events: z.array(notificationEventType).min(1).optional(),
          })
          .strict(),
      )
      .max(20)
      .default([]),
    emails: z
      .object({
        /** The administrators told by e-mail. */
        to: z.array(z.email()).min(1).max(50),
        /** Which events they are told of (default: all but invitation.accepted, which is webhook only). */
        events: z.array(notificationEventType.exclude(['invitation.accepted'])).min(1).optional(),
      })
      .strict()
      .optional(),
    /** An endpoint is disabled after this many deliveries in a row failed (every retry used up). */
    disableAfterFailures: z.number().int().min(1).max(1_000).default(10),
    /** Webhook delivery attempts (exponential backoff from `retryDelayMs`). */
    attempts: z.number().int().min(1).max(20).default(8),
    retryDelayMs: z.number().int().min(10).max(600_000).default(5_000),
  })
  .strict();

export const organizationSchema = z
  .object({
    id,
    name: z.string().min(1).max(200),
    connectors: z.array(connectorSchema).default([]),
    /** the organization's default time zone (people whose location has none): invitation rules, leavers' last days */
    timezone: timeZone.default('UTC'),
    /** time zones of locations by name (also settable through the API) */
    locations: z.array(z.object({ name: z.string().min(1).max(200), timeZone }).strict()).default([]),
    /** reminders for invitations not yet accepted, unless a rule says otherwise */
    reminders: reminderPolicySchema.optional(),
    notifications: notificationsSchema.optional(),
  })
  .strict();

export const invitationsSchema = z
  .object({
    /** invitations per batch job */
    batchSize: z.number().int().min(1).max(5_000).default(250),
    /** messages claimed at a time; pause and cancel take effect between these */
    chunkSize: z.number().int().min(1).max(100).default(25),
    /** the mail provider's quota, messages per second across all workers (0: unlimited) */
    ratePerSecond: z.number().min(0).default(100),
    /** batch jobs one worker process runs at once */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** how long an invitation link works */
    tokenTtlDays: z.number().positive().max(90).default(7),
    /** how often a worker rebuilds lost queue entries from the store */
    reconcileEverySeconds: z.number().positive().default(30),
  })
  .strict();

export const fileConfigSchema = z
  .object({
    organizations: z.array(organizationSchema).min(1),
    sync: z
      .object({ batchSize: z.number().int().min(1).max(20_000).default(2_000) })
      .strict()
      .default({ batchSize: 2_000 }),
    invitations: invitationsSchema.default(invitationsSchema.parse({})),
    /** Per-person history (user_events): how long events are kept; older ones are pruned daily. */
    history: z.object({ retentionDays: z.number().int().min(1).max(36_500).default(400) }).strict().default({ retentionDays: 400 }),
  })
  .strict();

export type MappingEntry = z.infer<typeof mappingEntrySchema>;
export type MappingConfig = z.infer<typeof mappingSchema>;
export type ConnectorConfig = z.infer<typeof connectorSchema>;
export type OrganizationConfig = z.infer<typeof organizationSchema>;
export type FileConfig = z.infer<typeof fileConfigSchema>;
export type InvitationsConfig = z.infer<typeof invitationsSchema>;
export type NotificationsConfig = z.infer<typeof notificationsSchema>;
export type NotificationEventType = (typeof NOTIFICATION_EVENT_TYPES)[number];
