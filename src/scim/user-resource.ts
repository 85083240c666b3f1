import { z } from 'zod';
import type { HrEmployee } from '../../connectors/types.js';
import { emptyEmployee } from '../../connectors/types.js';
import { ENTERPRISE_SCHEMA, USER_SCHEMA } from './discovery.js';
import { invalidValue } from './scim-error.js';
import type { Columns } from './filter-sql.js';

/**
 * Pure: a SCIM User (RFC 7643 §4.1, with the enterprise extension §4.3) to and from the
 * store. What SCIM knows that the store has no column for lives in users.attributes under
 * the keys below (kept by the SCIM connector's mapping, see `SCIM_ATTRIBUTES`).
 */
export const SCIM_ATTRIBUTES = {
  scimUserName: 'attributes.scimUserName',
  scimExternalId: 'attributes.scimExternalId',
  scimDisplayName: 'attributes.scimDisplayName',
  employeeNumber: 'attributes.employeeNumber',
  department: 'department',
  /** 'true' once the client DELETEd the user: deactivated, kept, no longer a SCIM resource. */
  scimDeleted: 'attributes.scimDeleted',
} as const;

/** A user row as the SCIM queries read it. */
export interface ScimUserRow {
  id: string;
  external_id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  job_title: string | null;
  status: 'active' | 'deactivated';
  attributes: Record<string, string | null>;
  manager_id: string | null;
  location: string | null;
  created_at: Date;
  updated_at: Date;
}

export const USER_SELECT = `u.id, u.external_id, u.email, u.first_name, u.last_name, u.job_title, u.status, u.attributes, u.manager_id,
  (select l.name from locations l where l.id = u.location_id) as location, u.created_at, u.updated_at`;

/** The SCIM users of a connector: those a SCIM client wrote, not deleted. `?` is the connector id. */
export const USER_SCOPE = `u.connector_id = ? and u.attributes->>'scimUserName' is not null and u.attributes->>'scimDeleted' is null`;

/** What a filter on /Users may name (RFC 7644 §3.4.2.2): lower-cased path → SQL. */
export const USER_COLUMNS: Columns = {
  id: { sql: 'u.id::text', type: 'string', caseExact: true },
  username: { sql: `lower(u.attributes->>'scimUserName')`, type: 'string' },
  externalid: { sql: `(u.attributes->>'scimExternalId')`, type: 'string', caseExact: true },
  'emails.value': { sql: 'lower(u.email)', type: 'string' },
  'emails.type': { sql: `(case when u.email is null then null else 'work' end)`, type: 'string' },
  'emails.primary': { sql: '(u.email is not null)', type: 'boolean' },
  active: { sql: `(u.status = 'active')`, type: 'boolean' },
  displayname: { sql: `lower(u.attributes->>'scimDisplayName')`, type: 'string' },
  'name.givenname': { sql: 'lower(u.first_name)', type: 'string' },
  'name.familyname': { sql: 'lower(u.last_name)', type: 'string' },
  title: { sql: 'lower(u.job_title)', type: 'string' },
  employeenumber: { sql: `lower(u.attributes->>'employeeNumber')`, type: 'string' },
  department: { sql: `lower(u.attributes->>'department')`, type: 'string' },
  'manager.value': { sql: 'u.manager_id::text', type: 'string', caseExact: true },
  'meta.created': { sql: 'u.created_at', type: 'date' },
  'meta.lastmodified': { sql: 'u.updated_at', type: 'date' },
};

export function toScimUser(row: ScimUserRow, base: string): Record<string, unknown> {
  const a = row.attributes ?? {};
  const enterprise: Record<string, unknown> = {};
  if (a.employeeNumber) enterprise.employeeNumber = a.employeeNumber;
  if (a.department) enterprise.department = a.department;
  if (row.manager_id) enterprise.manager = { value: row.manager_id, $ref: `${base}/Users/${row.manager_id}` };
  const name: Record<string, string> = {};
  if (row.first_name) name.givenName = row.first_name;
  if (row.last_name) name.familyName = row.last_name;
  if (row.first_name || row.last_name) name.formatted = [row.first_name, row.last_name].filter(Boolean).join(' ');
  return {
    schemas: Object.keys(enterprise).length > 0 ? [USER_SCHEMA, ENTERPRISE_SCHEMA] : [USER_SCHEMA],
    id: row.id,
    ...(a.scimExternalId ? { externalId: a.scimExternalId } : {}),
    userName: a.scimUserName ?? row.email,
    ...(Object.keys(name).length > 0 ? { name } : {}),
    ...(a.scimDisplayName ? { displayName: a.scimDisplayName } : {}),
    ...(row.job_title ? { title: row.job_title } : {}),
    active: row.status === 'active',
    emails: row.email ? [{ value: row.email, type: 'work', primary: true }] : [],
    ...(row.location ? { addresses: [{ type: 'work', locality: row.location, primary: true }] } : {}),
    ...(Object.keys(enterprise).length > 0 ? { [ENTERPRISE_SCHEMA]: enterprise } : {}),
    meta: {
      resourceType: 'User',
      created: new Date(row.created_at).toISOString(),
      lastModified: new Date(row.updated_at).toISOString(),
      location: `${base}/Users/${row.id}`,
    },
  };
}

const str = (max: number) => z.string().max(max);
/** Entra sends booleans as strings in some requests ("True", "False"). */
const bool = z.union([z.boolean(), z.string().regex(/^(true|false)$/i).transform((s) => s.toLowerCase() === 'true')]);
const multi = z.object({ value: z.string().max(1000).nullable().optional(), type: z.string().max(50).nullable().optional(), primary: bool.nullable().optional() }).passthrough();

/** The User attributes this service keeps; others (phoneNumbers, locale, roles …) are accepted and ignored. */
const userBody = z
  .object({
    userName: str(254).min(1, 'userName is required'),
    externalId: str(255).nullable().optional(),
    active: bool.nullable().optional(),
    displayName: str(200).nullable().optional(),
    title: str(500).nullable().optional(),
    name: z.object({ givenName: str(200).nullable().optional(), familyName: str(200).nullable().optional() }).passthrough().nullable().optional(),
    emails: z.array(multi).max(20).nullable().optional(),
    addresses: z.array(z.object({ locality: str(200).nullable().optional(), type: z.string().max(50).nullable().optional(), primary: bool.nullable().optional() }).passthrough()).max(20).nullable().optional(),
    [ENTERPRISE_SCHEMA]: z
      .object({
        employeeNumber: str(200).nullable().optional(),
        department: str(200).nullable().optional(),
        // Entra sends the manager as an id, as { value }, or as [{ value }]
        manager: z
          .union([z.object({ value: z.string().max(200).nullable().optional() }).passthrough(), z.string().max(200), z.array(z.object({ value: z.string().max(200).nullable().optional() }).passthrough()).max(1)])
          .nullable()
          .optional(),
      })
      .passthrough()
      .nullable()
      .optional(),
  })
  .passthrough();

export interface ScimUserInput {
  userName: string;
  externalId: string | null;
  active: boolean;
  email: string | null;
  displayName: string | null;
  givenName: string | null;
  familyName: string | null;
  title: string | null;
  locality: string | null;
  employeeNumber: string | null;
  department: string | null;
  /** The manager's SCIM id (a user id of the store). */
  managerId: string | null;
}

function pick<T extends { type?: string | null; primary?: boolean | null }>(list: T[] | null | undefined): T | undefined {
  if (!list || list.length === 0) return undefined;
  return list.find((x) => x.primary === true) ?? list.find((x) => (x.type ?? '').toLowerCase() === 'work') ?? list[0];
}

function blank(s: string | null | undefined): string | null {
  const t = s?.trim();
  return t ? t : null;
}

/** Validates a User body (POST, PUT, or a resource after PATCH). Throws a SCIM 400 invalidValue. */
export function parseScimUser(body: unknown): ScimUserInput {
  const r = userBody.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0];
    throw invalidValue(`${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
  }
  const u = r.data;
  for (const [k, v] of Object.entries(u)) if (typeof v === 'string' && v.includes('\u0000')) throw invalidValue(`${k} may not contain the NUL character`);
  const ent = u[ENTERPRISE_SCHEMA] ?? null;
  const manager = ent?.manager;
  const userName = u.userName.trim();
  const email = blank(pick(u.emails ?? [])?.value) ?? (/@/.test(userName) ? userName : null);
  return {
    userName,
    externalId: blank(u.externalId),
    active: u.active ?? true,
    email,
    displayName: blank(u.displayName),
    givenName: blank(u.name?.givenName),
    familyName: blank(u.name?.familyName),
    title: blank(u.title),
    locality: blank(pick(u.addresses ?? [])?.locality),
    employeeNumber: blank(ent?.employeeNumber),
    department: blank(ent?.department),
    managerId: typeof manager === 'string' ? blank(manager) : Array.isArray(manager) ? blank(manager[0]?.value) : blank(manager?.value),
  };
}

/** The HR record a SCIM user amounts to, anchored on `externalId` (the store's employee id of the user). */
export function toEmployee(externalId: string, input: ScimUserInput, managerExternalId: string | null, deleted = false): HrEmployee {
  return {
    ...emptyEmployee(externalId),
    email: input.email,
    firstName: input.givenName,
    lastName: input.familyName,
    jobTitle: input.title,
    department: input.department,
    location: input.locality,
    managerExternalId,
    status: input.active && !deleted ? 'active' : 'inactive',
    attributes: {
      scimUserName: input.userName,
      scimExternalId: input.externalId,
      scimDisplayName: input.displayName,
      employeeNumber: input.employeeNumber,
      scimDeleted: deleted ? 'true' : null,
    },
  };
}
