import { hash } from 'node:crypto';
import type { HrEmployee } from '../../connectors/types.js';
import type { MappingConfig, MappingEntry } from '../config/schema.js';
import { isValidEmail, parseEmailAddress } from './email-address.js';

/** Why an HR record was not synced. Short snake_case codes; the list grows as needed. */
export type RejectionReason =
  | 'missing_employee_id'
  | 'no_email'
  | 'invalid_email'
  | 'duplicate_email'
  | 'duplicate_employee_id'
  | 'invalid_status'
  | 'invalid_date'
  | 'field_too_long'
  | 'malformed_row'
  | 'invalid_characters'
  | (string & {});

export interface Rejection {
  externalId: string | null;
  reason: RejectionReason;
  detail?: string;
}

/** A record that passed validation, mapped to store fields, with its content hash. */
export interface SyncRecord {
  externalId: string;
  email: string;
  emailLower: string;
  firstName: string | null;
  lastName: string | null;
  jobTitle: string | null;
  locationName: string | null;
  groupName: string | null;
  managerExternalId: string | null;
  active: boolean;
  startDate: string | null;
  endDate: string | null;
  attributes: Record<string, string | null>;
  /** Hash of every field sync keeps up to date ("always" mode); equal hash → nothing to write. */
  hash: string;
}

export const FIELD_LIMITS = {
  externalId: 255,
  email: 254,
  firstName: 200,
  lastName: 200,
  jobTitle: 500,
  location: 200,
  group: 200,
  attribute: 1000,
} as const;

const DATE_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const ACTIVE = new Set(['active', 'employed', 'current', 'enabled']);
const INACTIVE = new Set(['inactive', 'terminated', 'former', 'disabled', 'left']);

/** The one address rule (src/domain/email-address.ts): what the store holds, the mailer can send to. */
export { isValidEmail };

export function isValidIsoDate(s: string): boolean {
  if (!DATE_RE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
}

type Source = (e: HrEmployee) => string | null;
type FieldMode = 'always' | 'on_create';

export interface CompiledMapping {
  firstName: { get: Source; mode: FieldMode };
  lastName: { get: Source; mode: FieldMode };
  jobTitle: { get: Source; mode: FieldMode };
  location: { get: Source; mode: FieldMode } | null;
  group: { get: Source; mode: FieldMode } | null;
  attributes: Array<{ key: string; get: Source; mode: FieldMode }>;
}

const NORMALIZED_FIELDS = new Set(['email', 'firstName', 'lastName', 'jobTitle', 'department', 'location', 'managerExternalId', 'status', 'startDate', 'endDate', 'externalId']);

function source(from: string): Source {
  if (from.startsWith('attributes.')) {
    const key = from.slice('attributes.'.length);
    return (e) => e.attributes[key] ?? null;
  }
  if (NORMALIZED_FIELDS.has(from)) return (e) => ((e as unknown as Record<string, string | null>)[from] ?? null);
  return (e) => e.attributes[from] ?? null;
}

function entry(e: MappingEntry | undefined, dflt: string | null): { get: Source; mode: FieldMode } | null {
  if (e === null) return null;
  if (e === undefined) return dflt === null ? null : { get: source(dflt), mode: 'always' };
  if (typeof e === 'string') return { get: source(e), mode: 'always' };
  return { get: source(e.from), mode: e.mode };
}

/** Which HR field feeds which store field; defaults: location ← location, group ← department. */
export function compileMapping(m: MappingConfig = {}): CompiledMapping {
  return {
    firstName: entry(m.firstName, 'firstName')!,
    lastName: entry(m.lastName, 'lastName')!,
    jobTitle: entry(m.jobTitle, 'jobTitle')!,
    location: entry(m.location, 'location'),
    group: entry(m.group, 'department'),
    attributes: Object.entries(m.attributes ?? {})
      .map(([key, e]) => ({ key, ...entry(e, null)! }))
      .filter((a) => a.get !== undefined),
  };
}

/** PostgreSQL text cannot hold NUL; such a value is garbage from the HR system, not a name. */
function hasNul(v: unknown): boolean {
  return typeof v === 'string' && v.includes('\u0000');
}

function tooLong(v: string | null, max: number): boolean {
  return v !== null && v.length > max;
}

function normalizeStatus(s: string): boolean | null {
  const v = s.trim().toLowerCase();
  if (ACTIVE.has(v)) return true;
  if (INACTIVE.has(v)) return false;
  return null;
}

/**
 * Pure: validate one HR record and map it to store fields. Returns the record or the
 * reason it is rejected. Names are kept verbatim (HTML and quotes included): escaping is
 * the renderer's job, never the store's.
 */
export function toSyncRecord(e: HrEmployee, mapping: CompiledMapping): SyncRecord | Rejection {
  const externalId = (e.externalId ?? '').trim();
  if (hasNul(externalId)) return { externalId: null, reason: 'invalid_characters', detail: 'employeeId contains a NUL character' };
  if (!externalId) return { externalId: null, reason: 'missing_employee_id', detail: 'the record has no employee id' };
  if (externalId.length > FIELD_LIMITS.externalId) return { externalId: externalId.slice(0, 64), reason: 'field_too_long', detail: `employeeId is longer than ${FIELD_LIMITS.externalId} characters` };
  const rawEmail = e.email?.trim() ?? '';
  if (!rawEmail) return { externalId, reason: 'no_email', detail: 'the record has no work e-mail' };
  const parsedEmail = parseEmailAddress(rawEmail);
  if (!parsedEmail.ok) return { externalId, reason: 'invalid_email', detail: `the work e-mail is not an address a mail server takes (${parsedEmail.problem.replace('_', ' ')})` };
  // IDN domains are kept in punycode: the form every SMTP server takes
  const email = parsedEmail.address;
  const active = normalizeStatus(e.status ?? 'active');
  if (active === null) return { externalId, reason: 'invalid_status', detail: `status "${String(e.status).slice(0, 40)}" is neither active nor inactive` };
  for (const [name, v] of [['startDate', e.startDate], ['endDate', e.endDate]] as const) {
    if (v !== null && v !== undefined && !isValidIsoDate(v)) return { externalId, reason: 'invalid_date', detail: `${name} "${String(v).slice(0, 40)}" is not an ISO date (YYYY-MM-DD)` };
  }
  const firstName = mapping.firstName.get(e);
  const lastName = mapping.lastName.get(e);
  const jobTitle = mapping.jobTitle.get(e);
  const locationName = mapping.location?.get(e) ?? null;
  const groupName = mapping.group?.get(e) ?? null;
  const checks: Array<[string, string | null, number]> = [
    ['firstName', firstName, FIELD_LIMITS.firstName],
    ['lastName', lastName, FIELD_LIMITS.lastName],
    ['jobTitle', jobTitle, FIELD_LIMITS.jobTitle],
    ['location', locationName, FIELD_LIMITS.location],
    ['group', groupName, FIELD_LIMITS.group],
  ];
  for (const [name, v, max] of checks) {
    if (hasNul(v)) return { externalId, reason: 'invalid_characters', detail: `${name} contains a NUL character` };
    if (tooLong(v, max)) return { externalId, reason: 'field_too_long', detail: `${name} is ${v!.length} characters long (at most ${max})` };
  }
  const attributes: Record<string, string | null> = {};
  for (const a of mapping.attributes) {
    const v = a.get(e);
    if (hasNul(v)) return { externalId, reason: 'invalid_characters', detail: `attribute ${a.key} contains a NUL character` };
    if (tooLong(v, FIELD_LIMITS.attribute)) return { externalId, reason: 'field_too_long', detail: `attribute ${a.key} is longer than ${FIELD_LIMITS.attribute} characters` };
    attributes[a.key] = v;
  }
  const managerExternalId = e.managerExternalId?.trim() || null;
  if (hasNul(managerExternalId)) return { externalId, reason: 'invalid_characters', detail: 'managerId contains a NUL character' };

  // Only fields kept up to date by sync take part in the hash.
  const parts: Array<string | null> = [email, managerExternalId, e.startDate ?? null, e.endDate ?? null];
  parts.push(mapping.firstName.mode === 'always' ? firstName : '~');
  parts.push(mapping.lastName.mode === 'always' ? lastName : '~');
  parts.push(mapping.jobTitle.mode === 'always' ? jobTitle : '~');
  parts.push(mapping.location?.mode === 'always' ? locationName : '~');
  parts.push(mapping.group?.mode === 'always' ? groupName : '~');
  for (const a of mapping.attributes) parts.push(a.key, a.mode === 'always' ? attributes[a.key] : '~');
  const h = hash('md5', parts.map((p) => (p === null ? '\u0000' : p)).join('\u001f'), 'base64url');

  return {
    externalId,
    email,
    emailLower: email.toLowerCase(),
    firstName,
    lastName,
    jobTitle,
    locationName,
    groupName,
    managerExternalId,
    active,
    startDate: e.startDate ?? null,
    endDate: e.endDate ?? null,
    attributes,
    hash: h,
  };
}

export function isRejection(r: SyncRecord | Rejection): r is Rejection {
  return (r as Rejection).reason !== undefined;
}
