import type { ZodType } from 'zod';
import type { ConnectorContext, HrEmployee } from '../types.js';
import { mapRecords } from './records.js';

/**
 * Shared pieces of `lookupEmployees` (confirmations before a deactivation, webhooks, one-person
 * syncs): the ids asked for, cleaned and deduplicated, in batches; the rows of a by-id answer
 * mapped with the vendor's own `toEmployee`.
 */

/** The distinct, non-empty ids asked for, in the order given. */
export function distinctIds(ids: readonly string[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of ids) {
    const id = String(raw ?? '').trim();
    if (id && !seen.has(id)) {
      seen.add(id);
      out.push(id);
    }
  }
  return out;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Maps the rows of a by-id answer into `into` (id → employee). A look-up reports the person as
 * HR has them, inactive included (the scope's includeInactive applies to listings, not to the
 * question "is this person still there?"). A row that cannot be read is reported through
 * `ctx.reject` and left out: its id stays unknown (neither found nor gone). An id asked for
 * that is not in the answer at all is `null`: the vendor says there is no such person.
 */
export function mapLookupRows<R>(
  rows: readonly unknown[],
  recordSchema: ZodType<R>,
  toEmployee: (raw: R) => HrEmployee,
  idOf: (raw: unknown) => string | null,
  ctx: Pick<ConnectorContext, 'reject'>,
  into: Map<string, HrEmployee | null>,
  asked: readonly string[],
): void {
  const wanted = new Set(asked);
  const answered = new Set<string>();
  for (const row of rows) {
    const id = idOf(row);
    if (id !== null) answered.add(id.trim());
  }
  for (const e of mapRecords(rows, recordSchema, toEmployee, idOf, { reject: ctx.reject, includeInactive: true })) {
    if (wanted.has(e.externalId)) into.set(e.externalId, e);
  }
  // Asked for and not in the answer: the vendor says there is no such person (any more).
  for (const id of asked) if (!answered.has(id) && !into.has(id)) into.set(id, null);
}
