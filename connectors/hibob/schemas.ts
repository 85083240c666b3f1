import { z } from 'zod';

/** Options of a `hibob` connector (config file `options`), validated before any request. */
export const hibobOptionsSchema = z
  .object({
    /** Service user id and token (System settings › Integrations › Service users); sent as HTTP Basic. */
    serviceUserId: z.string().min(1),
    token: z.string().min(1),
    /** API root; the sandbox (https://api.sandbox.hibob.com) or a test server can stand in. */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.hibob.com'),
    /**
     * Employees per request. POST /v1/people/search is not paged, so we page it ourselves:
     * first all ids, then the fields for `pageSize` ids at a time (a root.id filter).
     */
    pageSize: z.number().int().min(1).max(1000).default(200),
    /** Per-request timeout. */
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    /** Guard against endless pagination (counts the id slices). */
    maxPages: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .strict();
export type HibobOptions = z.infer<typeof hibobOptionsSchema>;

/**
 * Field ids requested (dot notation from the fields metadata). The response nests them by
 * category (`work.department`) in machine format (list fields as item ids, ISO dates); with
 * humanReadable "APPEND" a `humanReadable` object adds display values (list item names).
 */
export const HIBOB_FIELDS = [
  'root.id',
  'root.email',
  'root.firstName',
  'root.surname',
  'root.displayName',
  'work.title',
  'work.department',
  'work.site',
  'work.siteId',
  'work.reportsTo',
  'work.startDate',
  'work.employeeIdInCompany',
  'internal.status',
  'internal.lifecycleStatus',
  'internal.terminationDate',
] as const;

// ---- raw responses ----------------------------------------------------------------------------

const idLike = z.union([z.string().min(1), z.number().int()]);

/** POST /v1/people/search → { employees: [...] }: the envelope must be intact or the run fails. */
export const searchResponseSchema = z.looseObject({
  employees: z.array(z.looseObject({ id: idLike.nullish() })),
});
export type SearchResponse = z.infer<typeof searchResponseSchema>;

const str = z.string().nullish();

/** One employee: a record that fails this is rejected as malformed_record, the slice goes on. */
export const hibobEmployeeSchema = z.looseObject({
  id: idLike.nullish(),
  email: str,
  firstName: str,
  surname: str,
  displayName: str,
  work: z
    .looseObject({
      title: z.union([z.string(), z.number()]).nullish(),
      department: z.union([z.string(), z.number()]).nullish(),
      site: str,
      siteId: idLike.nullish(),
      /** An employee reference: an object with the manager's id (or the id itself). */
      reportsTo: z.union([z.looseObject({ id: idLike.nullish() }), idLike]).nullish(),
      startDate: str,
      employeeIdInCompany: idLike.nullish(),
    })
    .nullish(),
  internal: z
    .looseObject({
      status: str,
      lifecycleStatus: str,
      terminationDate: str,
    })
    .nullish(),
  humanReadable: z
    .looseObject({
      work: z.looseObject({ title: z.unknown(), department: z.unknown(), site: z.unknown() }).partial().nullish(),
    })
    .nullish(),
});
export type HibobEmployee = z.infer<typeof hibobEmployeeSchema>;
