import { z } from 'zod';

/**
 * Personio API v2 responses (https://developer.personio.de/v2.0/reference): list envelopes are
 * { _data: [...], _meta: { links: { self, next? } } } with cursor paging (`next.href` carries the
 * cursor). The envelope must be intact or the run fails; one person of the wrong shape is rejected.
 */

/** POST /v2/auth/token → an OAuth2 client-credentials answer. */
export const v2TokenSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().int().min(1).optional(),
});

const link = z.looseObject({ href: z.string() }).nullish();
export const v2ListSchema = z.looseObject({
  _data: z.array(z.record(z.string(), z.unknown())),
  _meta: z.looseObject({ links: z.looseObject({ self: link, next: link }).nullish() }).nullish(),
});
export type V2List = z.infer<typeof v2ListSchema>;

const id = z.union([z.string().min(1), z.number().int()]).transform(String);
const str = z.string().nullish();

export const v2PersonSchema = z.looseObject({
  id,
  first_name: str,
  last_name: str,
  preferred_name: str,
  email: str,
  created_at: str,
  updated_at: str,
  employments: z.array(z.looseObject({ id })).nullish(),
});
export type V2Person = z.infer<typeof v2PersonSchema>;

export const v2EmploymentSchema = z.looseObject({
  id,
  status: str,
  position: z.looseObject({ title: str }).nullish(),
  supervisor: z.looseObject({ id: id.nullish() }).nullish(),
  org_units: z.array(z.looseObject({ id, type: str })).nullish(),
  office: z.looseObject({ id: id.nullish() }).nullish(),
  start_date: str,
  termination_date: str,
  updated_at: str,
});
export type V2Employment = z.infer<typeof v2EmploymentSchema>;

/** GET /v2/org-units/{id}?type= */
export const v2OrgUnitSchema = z.looseObject({ id, type: str, name: str });
/** One of GET /v2/workplaces */
export const v2WorkplaceSchema = z.looseObject({ id, name: str });
