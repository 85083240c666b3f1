import type { ZodType } from 'zod';
import type { ConnectorContext, HrEmployee } from '../types.js';

/**
 * Record-level handling shared by the HTTP connectors.
 *
 * Policy (the same for every vendor):
 * - a page whose envelope is wrong (not JSON, truncated, missing the data array, pagination
 *   metadata of the wrong type) throws `connector_bad_response` in the vendor client: the run
 *   fails and nothing is deactivated;
 * - inside a structurally sound page, one record whose fields have the wrong type or an
 *   unparseable date is reported with `ctx.reject({ externalId, reason: 'malformed_record' })`
 *   and skipped; the run goes on;
 * - validity of values (missing id, invalid e-mail, unknown status, duplicates) is NOT judged
 *   here: such records are yielded as they are and the sync engine rejects them with the same
 *   codes for every connector.
 */

/** Thrown by a vendor's pure `toEmployee` when one field of one record cannot be normalized. */
export class MalformedRecordError extends Error {
  override readonly name = 'MalformedRecordError';
  constructor(readonly field: string, readonly detail: string) {
    super(`${field}: ${detail}`);
  }
}

/**
 * Normalizes a vendor date to YYYY-MM-DD, keeping the calendar date as written (an ISO
 * date-time's offset is not applied: "2024-03-01T00:00:00+01:00" is 2024-03-01).
 * null/''/'0000-00-00' (BambooHR's empty date) → null; anything else unparseable throws.
 */
export function normalizeDate(value: unknown, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new MalformedRecordError(field, `expected a date string, got ${typeof value}`);
  const v = value.trim();
  if (v === '' || v === '0000-00-00' || v.startsWith('0000-00-00')) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])/.exec(v);
  if (m) {
    const month = Number(m[2]);
    const day = Number(m[3]);
    if (month >= 1 && month <= 12 && day >= 1 && day <= 31) return `${m[1]}-${m[2]}-${m[3]}`;
  }
  throw new MalformedRecordError(field, `expected YYYY-MM-DD, got ${JSON.stringify(v.slice(0, 40))}`);
}

/** A trimmed non-empty string, or null. Numbers become strings (ids often arrive as numbers). */
export function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value !== 'string') return null;
  const t = value.trim();
  return t === '' ? null : t;
}

/** Today as YYYY-MM-DD in UTC: the reference date for "future hire" decisions. */
export function todayUtc(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/**
 * Turns the raw rows of one validated page into employees: validates each record with
 * `recordSchema`, maps it with `toEmployee`, reports malformed ones through `ctx.reject`, and
 * drops inactive employees when the scope excludes them (after mapping, so that future hires a
 * vendor marks as not yet active are kept).
 */
export function mapRecords<R>(
  rows: readonly unknown[],
  recordSchema: ZodType<R>,
  toEmployee: (raw: R) => HrEmployee,
  idOf: (raw: unknown) => string | null,
  ctx: Pick<ConnectorContext, 'reject' | 'includeInactive'>,
): HrEmployee[] {
  const out: HrEmployee[] = [];
  for (const row of rows) {
    const parsed = recordSchema.safeParse(row);
    if (!parsed.success) {
      const detail = parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`)
        .join('; ');
      ctx.reject({ externalId: idOf(row), reason: 'malformed_record', detail });
      continue;
    }
    let emp: HrEmployee;
    try {
      emp = toEmployee(parsed.data);
    } catch (err) {
      if (err instanceof MalformedRecordError) {
        ctx.reject({ externalId: idOf(row), reason: 'malformed_record', detail: err.message });
        continue;
      }
      throw err;
    }
    if (!ctx.includeInactive && emp.status === 'inactive') continue;
    out.push(emp);
  }
  return out;
}
