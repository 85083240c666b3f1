import { AppError } from '../../src/lib/errors.js';
import type { ConnectorContext } from '../types.js';
import { createHttpClient, PageGuard, parsePage, type ConnectorHttpDeps, type HttpClient } from '../http/client.js';
import { DATASET_FIELDS, datasetPageSchema, type BamboohrOptions, type DatasetPage } from './schemas.js';

/**
 * BambooHR API access on top of the shared HTTP client.
 *
 * Auth: the API key is the HTTP Basic user name, the password is any string ("x").
 * https://documentation.bamboohr.com/docs/getting-started#authentication
 *
 * Paths: the API is served per company both as https://{companyDomain}.bamboohr.com/api/… and
 * through the gateway https://api.bamboohr.com/api/gateway.php/{companyDomain}/…; we use the
 * gateway form under `baseUrl` so one option (baseUrl) can point at a regional host or a test
 * server.
 */
export class BamboohrApi {
  private readonly root: string;

  constructor(
    private readonly http: HttpClient,
    private readonly options: BamboohrOptions,
  ) {
    this.root = `/api/gateway.php/${encodeURIComponent(options.companyDomain)}`;
  }

  static create(options: BamboohrOptions, ctx: ConnectorContext, deps: ConnectorHttpDeps = {}): BamboohrApi {
    const http = createHttpClient(
      {
        vendor: 'BambooHR',
        baseUrl: options.baseUrl,
        log: ctx.log,
        signal: ctx.signal,
        timeoutMs: options.timeoutMs,
        basicAuth: { username: options.apiKey, password: 'x' },
        secrets: [options.apiKey],
        authFailureMessage: (status) =>
          status === 401
            ? `BambooHR rejected the API key (401): check options.apiKey and that the key's user may read employees (company "${options.companyDomain}")`
            : `BambooHR denied access (403): the API key's user may not read the employee dataset; give that user access to employee fields in BambooHR (options.apiKey, company "${options.companyDomain}")`,
      },
      deps,
    );
    return new BamboohrApi(http, options);
  }

  get stats() {
    return this.http.stats;
  }

  /**
   * One page of the `employee` dataset.
   * https://documentation.bamboohr.com/reference/get-data-from-dataset-v2
   * POST /api/v2/datasets/{datasetName}/data, body { fields, filter, orderBy, page, pageSize };
   * response { data: [{ fields }], links: { next?, prev? }, meta: { page, pageSize, totalPages, totalItems } }.
   */
  async datasetPage(body: { fields: readonly string[]; filter?: string; orderBy?: string; page: number; pageSize: number }): Promise<DatasetPage> {
    const res = await this.http.request({
      method: 'POST',
      path: `${this.root}/v2/datasets/employee/data`,
      data: body,
    });
    return parsePage(datasetPageSchema, res.data, `BambooHR employee dataset page ${body.page}`);
  }

  /**
   * Every row of the employee dataset, page by page. Active and inactive employees are both
   * requested (future hires are "Inactive" until their hire date); `since` adds a lastChanged
   * filter for incremental runs. Ordered by eeid; paged by keyset (default) or page number.
   */
  async *employeeRows(since: Date | null): AsyncGenerator<DatasetPage['data']> {
    const clauses = [`status in ('Active','Inactive')`];
    if (since) clauses.push(`lastChanged gt '${since.toISOString().replace(/\.\d{3}Z$/, 'Z')}'`);
    const filter = clauses.join(' and ');
    if (this.options.paging === 'keyset') yield* this.keysetRows(filter);
    else yield* this.pagedRows(filter);
  }

  /**
   * Keyset paging: always page 1 of `filter and eeid gt <last eeid read>`, ordered by eeid.
   * Nobody can slide past a page boundary when others leave or join. Each answer announces how
   * many rows are left above the key: read + left must not drop (someone not yet read left the
   * listing: it fails, as with page numbers), and the last answer must hold every row it announces.
   */
  private async *keysetRows(filter: string): AsyncGenerator<DatasetPage['data']> {
    const { pageSize, maxPages } = this.options;
    const guard = new PageGuard('BambooHR', maxPages);
    let after: number | null = null;
    let seen = 0;
    for (let n = 1; ; n++) {
      guard.next(after ?? '-');
      const p = await this.datasetPage({ fields: DATASET_FIELDS, filter: after === null ? filter : `${filter} and eeid gt ${after}`, orderBy: 'eeid asc', page: 1, pageSize });
      if (p.meta.page !== 1) {
        throw new AppError('connector_bad_response', `BambooHR: asked for dataset page 1 (keyset), got page ${p.meta.page}`, { retryable: true });
      }
      // The key goes on from the highest eeid of the page. A row without a readable id is the
      // engine's to reject (and then no absence counts as proven); a page with none cannot be
      // continued from, and a page shorter than announced is not trusted.
      let last: number | null = after;
      for (const row of p.data) {
        const id = Number(row.fields.eeid);
        if (row.fields.eeid === null || row.fields.eeid === undefined || row.fields.eeid === '' || !Number.isSafeInteger(id)) continue;
        if (last !== null && id <= last) {
          throw new AppError('connector_bad_response', `BambooHR: dataset rows not in ascending eeid order after ${last} (the API ignored the keyset filter or the order): not trusting it`, { retryable: true });
        }
        last = id;
      }
      if (p.data.length > 0 && last === after) {
        throw new AppError('connector_bad_response', `BambooHR: a dataset page without readable employee ids (eeid): keyset paging cannot go on from it (options.paging "page" pages by number)`, { retryable: true });
      }
      if (p.data.length < Math.min(pageSize, p.meta.totalItems)) {
        throw new AppError('connector_bad_response', `BambooHR: a dataset page of ${p.data.length} rows where ${Math.min(pageSize, p.meta.totalItems)} were announced: incomplete, not trusting it`, { retryable: true });
      }
      guard.content(p.data.length ? `${p.data[0].fields.eeid}..${last}#${p.data.length}` : '', n);
      guard.total(seen + p.meta.totalItems, n);
      seen += p.data.length;
      if (p.data.length > 0) yield p.data;
      if (p.data.length === 0 || p.meta.totalPages <= 1) {
        if (p.data.length < p.meta.totalItems || seen < (guard.announcedTotal ?? 0)) {
          throw new AppError('connector_bad_response', `BambooHR: the listing ended after ${seen} of ${guard.announcedTotal ?? seen} employees: incomplete, not trusting it`, { retryable: true });
        }
        return;
      }
      after = last;
    }
  }

  /** Page-number paging: page 1, 2, … until meta.totalPages. */
  private async *pagedRows(filter: string): AsyncGenerator<DatasetPage['data']> {
    const { pageSize, maxPages } = this.options;
    const guard = new PageGuard('BambooHR', maxPages);
    let seen = 0;
    let totalItems = 0;
    for (let page = 1; ; page++) {
      guard.next(page);
      const p = await this.datasetPage({ fields: DATASET_FIELDS, filter, orderBy: 'eeid asc', page, pageSize });
      if (p.meta.page !== page) {
        throw new AppError('connector_bad_response', `BambooHR: asked for dataset page ${page}, got page ${p.meta.page}`, { retryable: true });
      }
      const first = p.data[0]?.fields.eeid;
      const last = p.data[p.data.length - 1]?.fields.eeid;
      guard.content(p.data.length ? `${String(first)}..${String(last)}#${p.data.length}` : '', page);
      guard.total(p.meta.totalItems, page);
      seen += p.data.length;
      totalItems = guard.announcedTotal ?? p.meta.totalItems;
      if (p.data.length > 0) yield p.data;
      // meta.totalPages = ceil(totalItems / pageSize); links.next is present exactly when page < totalPages.
      if (page >= p.meta.totalPages || p.data.length === 0) break;
    }
    if (seen < totalItems) {
      throw new AppError('connector_bad_response', `BambooHR: the listing ended after ${seen} of ${totalItems} employees: incomplete, not trusting it`, { retryable: true });
    }
  }

  /**
   * The employees with these ids, as the dataset reports them now (any status): one dataset
   * request per batch, filter `eeid eq 1 or eeid eq 2 …` (eq works on numeric fields; `or`
   * alone, never mixed with `and`, as the filter grammar requires). An id absent from the
   * answer is not in BambooHR (deleted, or never existed).
   */
  async rowsByIds(ids: readonly string[]): Promise<DatasetPage['data']> {
    if (ids.length === 0) return [];
    const filter = ids.map((id) => `eeid eq ${filterValue(id)}`).join(' or ');
    const p = await this.datasetPage({ fields: DATASET_FIELDS, filter, orderBy: 'eeid asc', page: 1, pageSize: Math.min(1000, ids.length) });
    if (p.meta.totalPages > 1 || p.data.length > ids.length) {
      throw new AppError('connector_bad_response', `BambooHR: asked for ${ids.length} employees by id, got ${p.meta.totalItems}`, { retryable: true });
    }
    return p.data;
  }

  /** The cheapest authenticated request that proves the key may read employees: one row, one field. */
  async check(): Promise<void> {
    await this.datasetPage({ fields: ['eeid'], filter: `status in ('Active','Inactive')`, page: 1, pageSize: 1 });
  }
}

/** An id in a dataset filter: a number as it is, anything else quoted ('' escapes a quote). */
function filterValue(id: string): string {
  return /^\d+$/.test(id) ? id : `'${id.replaceAll("'", "''")}'`;
}
