import { AppError } from '../../src/lib/errors.js';
import type { ConnectorContext } from '../types.js';
import { createHttpClient, PageGuard, parsePage, type ConnectorHttpDeps, type HttpClient } from '../http/client.js';
import { HIBOB_FIELDS, searchResponseSchema, type HibobOptions, type SearchResponse } from './schemas.js';

/**
 * HiBob API access on top of the shared HTTP client.
 *
 * Auth: a service user; its id and token as HTTP Basic user/password.
 * https://apidocs.hibob.com/docs/api-service-users
 *
 * Listing: POST /v1/people/search is not paginated (one call returns every match). For large
 * companies HiBob recommends client-side batching; we do exactly that so payloads, retries and
 * failures stay per slice: (1) one search for the ids only (`fields: ['root.id']`), then
 * (2) one search per `pageSize` ids with a `root.id` / `equals` filter for the full fields.
 * Each slice must return exactly the ids asked for, or the listing fails (an employee missing
 * from a "complete" listing would otherwise be deactivated).
 * https://apidocs.hibob.com/docs/people-read-api-contract
 */
export class HibobApi {
  constructor(
    private readonly http: HttpClient,
    private readonly options: HibobOptions,
  ) {}

  static create(options: HibobOptions, ctx: ConnectorContext, deps: ConnectorHttpDeps = {}): HibobApi {
    const http = createHttpClient(
      {
        vendor: 'HiBob',
        baseUrl: options.baseUrl,
        log: ctx.log,
        signal: ctx.signal,
        timeoutMs: options.timeoutMs,
        basicAuth: { username: options.serviceUserId, password: options.token },
        secrets: [options.token],
        authFailureMessage: (status) =>
          status === 401
            ? `HiBob rejected the service user (401): check options.serviceUserId and options.token`
            : `HiBob denied access (403): the service user's permission group may not read employees; grant it view access to People's data (Basic info, Work, Lifecycle) (options.serviceUserId)`,
      },
      deps,
    );
    return new HibobApi(http, options);
  }

  get stats() {
    return this.http.stats;
  }

  /**
   * https://apidocs.hibob.com/reference/post_people-search
   * POST /v1/people/search { fields, filters?, showInactive, humanReadable? } → { employees: [...] }.
   * `filters` is omitted entirely when not filtering (an empty array is a 400).
   */
  async search(body: { fields: readonly string[]; ids?: readonly string[]; humanReadable?: 'APPEND' | 'REPLACE' }, what: string): Promise<SearchResponse> {
    const res = await this.http.request({
      method: 'POST',
      path: '/v1/people/search',
      data: {
        fields: body.fields,
        ...(body.ids ? { filters: [{ fieldPath: 'root.id', operator: 'equals', values: body.ids }] } : {}),
        // Terminated employees are always read; the scope filter is applied after mapping.
        showInactive: true,
        ...(body.humanReadable ? { humanReadable: body.humanReadable } : {}),
      },
    });
    return parsePage(searchResponseSchema, res.data, what);
  }

  /** All employee ids, in the order HiBob returns them, without duplicates. */
  async allIds(): Promise<string[]> {
    const res = await this.search({ fields: ['root.id'] }, 'HiBob people search (ids)');
    const ids: string[] = [];
    const seen = new Set<string>();
    for (const e of res.employees) {
      if (e.id === null || e.id === undefined) {
        throw new AppError('connector_bad_response', 'HiBob people search (ids): an employee without id', { retryable: true });
      }
      const id = String(e.id);
      if (!seen.has(id)) {
        seen.add(id);
        ids.push(id);
      }
    }
    return ids;
  }

  /** Full records, `pageSize` employees per request. */
  async *employeeRows(): AsyncGenerator<SearchResponse['employees']> {
    const { pageSize, maxPages } = this.options;
    const ids = await this.allIds();
    const guard = new PageGuard('HiBob', maxPages);
    for (let i = 0; i < ids.length; i += pageSize) {
      const slice = ids.slice(i, i + pageSize);
      guard.next(i);
      const res = await this.search({ fields: HIBOB_FIELDS, ids: slice, humanReadable: 'APPEND' }, `HiBob people search (employees ${i + 1}–${i + slice.length} of ${ids.length})`);
      const got = new Set(res.employees.map((e) => String(e.id)));
      const missing = slice.filter((id) => !got.has(id));
      if (missing.length > 0 || got.size !== res.employees.length || res.employees.length !== slice.length) {
        throw new AppError(
          'connector_bad_response',
          `HiBob people search: asked for ${slice.length} employees, got ${res.employees.length} (${missing.length} missing): incomplete, not trusting it`,
          { retryable: true },
        );
      }
      yield res.employees;
    }
  }

  /** One authenticated request that proves the service user may read employees (ids only). */
  async check(): Promise<void> {
    await this.search({ fields: ['root.id'] }, 'HiBob people search (ids)');
  }
}
