import type { HrEmployee } from '../../connectors/types.js';
import { errorMessage } from '../lib/errors.js';

/** The connector's look-up by id, bound to the run's options and context. */
export type Confirm = (externalIds: readonly string[]) => Promise<Map<string, HrEmployee | null>>;

export interface ConfirmOutcome {
  /** Found at the HR system and not inactive: not gone. */
  present: HrEmployee[];
  /** The HR system says gone (no such id) or inactive. */
  gone: number;
  /** Not answered: a failed look-up, or a record that could not be read. Never taken as gone. */
  unknown: string[];
  /** The first failure, for the run's error. */
  error: string | null;
  /** Look-up calls made. */
  calls: number;
}

/**
 * Ids per call to the connector: the connector batches further within its vendor's limits;
 * this bounds what one failure leaves unknown and what is held in memory at once.
 */
export const CONFIRM_CALL_SIZE = 500;

/**
 * Confirms the absence of users missing from a complete listing by asking the HR system about
 * each by id. The first failing call stops the confirmation (the vendor is down or refusing:
 * more calls would only wait out more retries); that call's ids and every id after it stay
 * unknown.
 */
export async function confirmAbsent(externalIds: readonly string[], confirm: Confirm, callSize = CONFIRM_CALL_SIZE): Promise<ConfirmOutcome> {
  const out: ConfirmOutcome = { present: [], gone: 0, unknown: [], error: null, calls: 0 };
  for (let i = 0; i < externalIds.length; i += callSize) {
    const ids = externalIds.slice(i, i + callSize);
    let answer: Map<string, HrEmployee | null>;
    try {
      out.calls++;
      answer = await confirm(ids);
    } catch (err) {
      out.error = errorMessage(err);
      out.unknown.push(...externalIds.slice(i));
      break;
    }
    for (const id of ids) {
      const e = answer.get(id);
      if (e === undefined) out.unknown.push(id);
      // Inactive is gone; any other status is a record the engine rejects, like in the listing,
      // and a rejected record never deactivates its user.
      else if (e === null || e.status === 'inactive') out.gone++;
      else out.present.push({ ...e, externalId: id });
    }
  }
  return out;
}
