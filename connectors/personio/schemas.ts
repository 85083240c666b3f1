import { z } from 'zod';

/** Options of a `personio` connector (config file `options`), validated before any request. */
export const personioOptionsSchema = z
  .object({
    /** API credentials (Settings › Integrations › API credentials). */
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** API root; a test server can stand in. */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.personio.de'),
    /**
     * `v1` (default): GET /v1/company/employees, every field in one listing, offset paging.
     * `v2`: persons by cursor (stable paging) and one employments request per person, made only
     * for people new or changed since the last run (see employmentRequestBudget).
     */
    apiVersion: z.enum(['v1', 'v2']).optional(),
    /** Employees per page: v1 allows at most 100 (enforced since 2025); v2 persons at most 50 (larger values are cut to 50). */
    pageSize: z.number().int().min(1).max(100).default(100),
    /**
     * v2: employment requests one run may make (one per person new or changed since the last run).
     * People beyond it keep their last known employment, or (never read) wait for the next run.
     * Default 5,000.
     */
    employmentRequestBudget: z.number().int().min(0).max(1_000_000).optional(),
    /** v2: every this many hours each person's employment is read again even if unchanged (within the budget). Default 168 (a week). */
    employmentsFullReadEveryHours: z.number().int().min(1).max(24 * 365).optional(),
    /** Per-request timeout. */
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    /** Guard against endless pagination. */
    maxPages: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .strict();
export type PersonioOptions = z.infer<typeof personioOptionsSchema>;

// ---- raw responses ----------------------------------------------------------------------------

/** POST /v1/auth → { success: true, data: { token } }. */
export const authResponseSchema = z.looseObject({
  success: z.literal(true),
  data: z.looseObject({ token: z.string().min(1) }),
});

/** GET /v1/company/employees: the envelope must be intact or the run fails. */
export const employeesPageSchema = z.looseObject({
  success: z.literal(true),
  metadata: z
    .looseObject({
      total_elements: z.number().int().min(0),
      current_page: z.number().int().min(0).optional(),
      total_pages: z.number().int().min(0).optional(),
    })
    .nullish(),
  offset: z.number().int().min(0).nullish(),
  limit: z.number().int().min(0).nullish(),
  data: z.array(z.looseObject({ type: z.string().optional(), attributes: z.record(z.string(), z.unknown()) })),
});
export type EmployeesPage = z.infer<typeof employeesPageSchema>;
export type EmployeeRow = EmployeesPage['data'][number];

/** GET /v1/company/employees/{id}: one employee in the same shape as a listing's rows. */
export const employeeResponseSchema = z.looseObject({
  success: z.literal(true),
  data: z.looseObject({ type: z.string().optional(), attributes: z.record(z.string(), z.unknown()) }),
});

// ---- one employee: attributes are { label, value, type, universal_id } --------------------------

const idLike = z.union([z.number().int(), z.string().min(1)]);
/** Personio sends an empty reference as null, "" or []. */
const empty = z.union([z.null(), z.literal(''), z.tuple([])]);
/** A reference such as { type: 'Department', attributes: { id, name } }. */
const named = z.looseObject({
  type: z.string().optional(),
  attributes: z.looseObject({ id: idLike.nullish(), name: z.string().nullish() }),
});
const attr = <T extends z.ZodType>(value: T) => z.looseObject({ label: z.string().optional(), value, type: z.string().optional() }).optional();
const strAttr = attr(z.string().nullish());

export const personioEmployeeSchema = z.looseObject({
  type: z.string().optional(),
  attributes: z.looseObject({
    id: attr(idLike.nullish()),
    first_name: strAttr,
    last_name: strAttr,
    preferred_name: strAttr,
    email: strAttr,
    status: strAttr,
    position: strAttr,
    employment_type: strAttr,
    hire_date: strAttr,
    termination_date: strAttr,
    last_modified_at: strAttr,
    department: attr(z.union([empty, named]).optional()),
    office: attr(z.union([empty, named]).optional()),
    team: attr(z.union([empty, named]).optional()),
    subcompany: attr(z.union([empty, named]).optional()),
    cost_centers: attr(z.union([empty, z.array(named)]).optional()),
    supervisor: attr(
      z
        .union([
          empty,
          z.looseObject({
            type: z.string().optional(),
            attributes: z.looseObject({ id: z.looseObject({ value: idLike.nullish() }) }),
          }),
        ])
        .optional(),
    ),
  }),
});
export type PersonioEmployee = z.infer<typeof personioEmployeeSchema>;
