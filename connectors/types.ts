import type { ZodType } from 'zod';
import type { Logger } from '../src/lib/logger.js';

/** Employment status as HR systems report it, normalized. */
export type HrStatus = 'active' | 'inactive';

/**
 * One employee as a connector yields it: normalized field names, raw values.
 * Connectors do not judge validity (e-mail syntax, duplicates): the sync engine does,
 * so every connector rejects records for the same reasons with the same codes.
 */
export interface HrEmployee {
  /** The HR system's employee id; '' when the source had none (rejected as missing_employee_id). */
  externalId: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  jobTitle: string | null;
  department: string | null;
  location: string | null;
  /** The manager's HR employee id, resolved to a user after all records of a run are in. */
  managerExternalId: string | null;
  /** 'active' | 'inactive'; anything else is rejected as invalid_status. */
  status: string;
  /** ISO dates (YYYY-MM-DD) or null. */
  startDate: string | null;
  endDate: string | null;
  /** Further vendor fields (team, division, site, custom fields) that a connector's mapping may name. */
  attributes: Record<string, string | null>;
}

/** A record a connector could not turn into an HrEmployee at all (reported, skipped). */
export interface HrRejectedRecord {
  externalId: string | null;
  reason: string;
  detail?: string;
}

export interface ConnectorContext {
  log: Logger;
  /** Aborted when the run is cancelled or the process shuts down. */
  signal?: AbortSignal;
  /**
   * null: a full listing of every employee in scope (deactivations may follow).
   * A date: an incremental listing of records changed since then, where the connector supports it.
   */
  since: Date | null;
  /** Report a record that cannot be normalized; the run goes on. */
  reject(record: HrRejectedRecord): void;
  /** Whether inactive/terminated employees should be listed (scope.includeInactive). Default true. */
  includeInactive: boolean;
  /**
   * What this connector remembered of the HR system in earlier runs (absent in checks and
   * tests without a store): a connector that must make one request per person (Personio v2
   * employments) keeps its last answers here and asks again only for what changed.
   */
  state?: ConnectorState;
}

/** A connector's memory between runs: JSON values by key, per connector. */
export interface ConnectorState {
  get(keys: readonly string[]): Promise<Map<string, unknown>>;
  put(entries: ReadonlyArray<readonly [string, unknown]>): Promise<void>;
  /** Forgets keys (e.g. people no longer listed). */
  delete(keys: readonly string[]): Promise<void>;
  /** Forgets every key starting with `prefix` that is not in `keep` (after a complete listing). */
  retain(prefix: string, keep: readonly string[]): Promise<void>;
}

/** One interface for every HR system. A connector only reads; it knows nothing about the store. */
export interface HrConnector<C = unknown> {
  type: string;
  /** Validates the connector's `options` from the config file before any request. */
  configSchema: ZodType<C>;
  /** Whether `listEmployees` honours `ctx.since` (incremental listing). */
  supportsIncremental: boolean;
  /** Throws an AppError with a clear message when credentials or permissions do not work. */
  checkConnection(config: C, ctx: ConnectorContext): Promise<void>;
  /** Yields employees page by page. Throwing part way fails the run, and nothing is deactivated. */
  listEmployees(config: C, ctx: ConnectorContext): AsyncIterable<HrEmployee[]>;
  /**
   * Looks employees up by their HR id, in batches, within the vendor's rate limits: the
   * confirmation before a deactivation, a webhook naming people, a one-person sync.
   * The result has one entry per id asked for: the employee as the vendor reports it now,
   * or `null` when the vendor says the id does not exist (404 / absent from a by-id answer).
   * A request that fails (5xx after retries, timeout, auth) throws: the caller must treat
   * every id of that call as unknown, never as gone. A record the vendor returned but that
   * cannot be read (malformed) is reported through `ctx.reject` and its id is left out of the
   * map: unknown too. Inactive employees are returned (status 'inactive') whatever
   * `ctx.includeInactive` says.
   */
  lookupEmployees?(config: C, externalIds: readonly string[], ctx: ConnectorContext): Promise<Map<string, HrEmployee | null>>;
}

export function emptyEmployee(externalId: string): HrEmployee {
  return {
    externalId, email: null, firstName: null, lastName: null, jobTitle: null, department: null,
    location: null, managerExternalId: null, status: 'active', startDate: null, endDate: null, attributes: {},
  };
}
