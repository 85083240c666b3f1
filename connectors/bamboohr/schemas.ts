import { z } from 'zod';

/** Options of a `bamboohr` connector (config file `options`), validated before any request. */
export const bamboohrOptionsSchema = z
  .object({
    /** The company subdomain: "acme" for https://acme.bamboohr.com. */
    companyDomain: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'the subdomain only, e.g. "acme" for acme.bamboohr.com'),
    /** API key of a BambooHR user who may read employees (sent as HTTP Basic user, password "x"). */
    apiKey: z.string().min(1),
    /** API root; a regional endpoint or a test server can stand in. */
    baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.bamboohr.com'),
    /**
     * How the listing pages: `keyset` (default) asks each time for the rows whose eeid is above
     * the last one read (`eeid gt N`, ordered by eeid), so people leaving or joining while the
     * listing is read cannot shift anyone past a page boundary; `page` uses page/pageSize
     * (page numbers shift when HR deletes someone mid-listing; absent people are then looked
     * up before any deactivation).
     */
    paging: z.enum(['keyset', 'page']).default('keyset'),
    /** Rows per dataset page (the API allows 1..1000). */
    pageSize: z.number().int().min(1).max(1000).default(500),
    /** Per-request timeout. */
    timeoutMs: z.number().int().min(100).max(600_000).optional(),
    /** Guard against endless pagination. */
    maxPages: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .strict();
export type BamboohrOptions = z.infer<typeof bamboohrOptionsSchema>;

/**
 * Fields requested from the `employee` dataset (names from "Get Fields from Dataset (v1.2)";
 * the dataset vocabulary differs from GET /employees/{id}: `email` is the work e-mail,
 * `jobInformation*` the current job row, `supervisorEid` the supervisor's employee id).
 */
export const DATASET_FIELDS = [
  'eeid',
  'employeeNumber',
  'firstName',
  'lastName',
  'preferredName',
  'email',
  'status',
  'employmentStatus',
  'hireDate',
  'terminationDate',
  'jobInformationJobTitle',
  'jobInformationDepartment',
  'jobInformationDivision',
  'jobInformationLocation',
  'jobInformationReportsTo',
  'supervisorEid',
  'lastChanged',
] as const;

// ---- raw responses ----------------------------------------------------------------------------

/** One page of POST /v2/datasets/employee/data: the envelope must be intact or the run fails. */
export const datasetPageSchema = z.looseObject({
  data: z.array(z.looseObject({ fields: z.record(z.string(), z.unknown()) })),
  links: z
    .looseObject({ next: z.string().nullish(), prev: z.string().nullish() })
    .nullish(),
  meta: z.looseObject({
    page: z.number().int().min(1),
    pageSize: z.number().int().min(1),
    totalPages: z.number().int().min(0),
    totalItems: z.number().int().min(0),
  }),
});
export type DatasetPage = z.infer<typeof datasetPageSchema>;

const str = z.string().nullish();
const idLike = z.union([z.string(), z.number().int()]).nullish();

/** One row's `fields`: a record that fails this is rejected as malformed_record, the page goes on. */
export const bamboohrEmployeeSchema = z.looseObject({
  eeid: idLike,
  employeeNumber: idLike,
  firstName: str,
  lastName: str,
  preferredName: str,
  email: str,
  status: str,
  employmentStatus: str,
  hireDate: str,
  terminationDate: str,
  jobInformationJobTitle: str,
  jobInformationDepartment: str,
  jobInformationDivision: str,
  jobInformationLocation: str,
  jobInformationReportsTo: str,
  supervisorEid: idLike,
  lastChanged: str,
});
export type BamboohrEmployee = z.infer<typeof bamboohrEmployeeSchema>;

/** A dataset row as the API returns it: the values wrapped in `fields`. */
export const bamboohrRowSchema = z.looseObject({ fields: bamboohrEmployeeSchema });
export type BamboohrRow = z.infer<typeof bamboohrRowSchema>;
