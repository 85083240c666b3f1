import { AppError, isAppError } from '../../src/lib/errors.js';
import type { Logger } from '../../src/lib/logger.js';
import type { ConnectorContext } from '../types.js';
import { createHttpClient, PageGuard, parsePage, type ConnectorHttpDeps, type HttpClient, type HttpRequest, type HttpResponse } from '../http/client.js';
import { authResponseSchema, employeeResponseSchema, employeesPageSchema, type EmployeeRow, type EmployeesPage, type PersonioOptions } from './schemas.js';

/**
 * Personio API access on top of the shared HTTP client.
 *
 * Auth: the v1 token endpoint, POST /v1/auth with client_id/client_secret in the JSON body
 * (query-string credentials are deprecated). https://developer.personio.de/reference/auth
 * The token is a bearer token, stable for 24 h; every successful response also carries a token
 * in its `Authorization` header, which may differ (the older one-time "rotating" tokens): we
 * always continue with the newest one. A token is renewed before 23 h, and once — at once —
 * whenever a data request answers 401 (expired, rotated away, revoked): the request is then
 * repeated with the new token. A second 401 is a real credential problem and fails the run.
 */
export const TOKEN_RENEW_AFTER_MS = 23 * 60 * 60 * 1000;

const AUTH_PATH = '/v1/auth';
const EMPLOYEES_PATH = '/v1/company/employees';

/**
 * The HTTP client of either Personio API: the client secret redacted, and auth failures told in
 * words — at the token endpoint the credentials, elsewhere a token refused right after it was
 * issued (401) or the credentials' missing scopes (403).
 */
export function createPersonioHttp(
  options: PersonioOptions,
  ctx: ConnectorContext,
  deps: ConnectorHttpDeps,
  words: { tokenPath: string; freshToken: string; forbidden: string },
): HttpClient {
  return createHttpClient(
    {
      vendor: 'Personio',
      baseUrl: options.baseUrl,
      log: ctx.log,
      signal: ctx.signal,
      timeoutMs: options.timeoutMs,
      secrets: [options.clientSecret],
      authFailureMessage: (status, req) => {
        if (req.path === words.tokenPath) {
          return `Personio rejected the API credentials (${status}): check options.clientId and options.clientSecret (Settings › Integrations › API credentials)`;
        }
        return status === 401
          ? `Personio rejected ${words.freshToken} (401): check that the API credentials in options.clientId/options.clientSecret are still active`
          : words.forbidden;
      },
    },
    deps,
  );
}

export class PersonioApi {
  private token: string | null = null;
  private tokenAt = 0;
  /** Tokens obtained from POST /v1/auth during this run. */
  tokensIssued = 0;

  constructor(
    private readonly http: HttpClient,
    private readonly options: PersonioOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  static create(options: PersonioOptions, ctx: ConnectorContext, deps: ConnectorHttpDeps = {}): PersonioApi {
    const http = createPersonioHttp(options, ctx, deps, {
      tokenPath: AUTH_PATH,
      freshToken: 'a freshly issued token',
      forbidden: 'Personio denied access to employees (403): the API credentials (options.clientId) need read access to employee data and the requested attributes',
    });
    return new PersonioApi(http, options, ctx.log);
  }

  get stats() {
    return this.http.stats;
  }

  /** https://developer.personio.de/reference/auth — POST /v1/auth → { success, data: { token } }. */
  async authenticate(): Promise<void> {
    const res = await this.http.request({
      method: 'POST',
      path: AUTH_PATH,
      data: { client_id: this.options.clientId, client_secret: this.options.clientSecret },
    });
    const body = parsePage(authResponseSchema, res.data, 'Personio POST /v1/auth');
    this.token = body.data.token;
    this.tokenAt = this.now();
    this.tokensIssued++;
    this.log.debug({ vendor: 'Personio', tokensIssued: this.tokensIssued }, 'connector token issued');
  }

  /** A data request with the current bearer token; renews the token once on 401. */
  private async authorized(req: HttpRequest): Promise<HttpResponse> {
    if (this.token === null || this.now() - this.tokenAt > TOKEN_RENEW_AFTER_MS) await this.authenticate();
    let res: HttpResponse;
    try {
      res = await this.send(req);
    } catch (err) {
      if (!(isAppError(err) && err.code === 'connector_auth_failed' && (err.details as { status?: number } | undefined)?.status === 401)) throw err;
      this.log.info({ vendor: 'Personio', path: req.path }, 'connector token rejected, renewing');
      this.token = null;
      await this.authenticate();
      res = await this.send(req);
    }
    const rotated = /^Bearer\s+(\S+)$/i.exec(res.headers.authorization ?? '')?.[1];
    if (rotated && rotated !== this.token) {
      this.token = rotated;
      this.tokenAt = this.now();
    }
    return res;
  }

  private send(req: HttpRequest): Promise<HttpResponse> {
    return this.http.request({ ...req, headers: { ...req.headers, Authorization: `Bearer ${this.token}` } });
  }

  /**
   * One page of employees.
   * https://developer.personio.de/reference/get_company-employees
   * GET /v1/company/employees?limit=&offset=[&updated_since=] →
   * { success, metadata: { total_elements, current_page, total_pages }, offset, limit, data: [{ type, attributes }] }.
   */
  async employeesPage(params: { limit: number; offset: number; updatedSince?: string }): Promise<EmployeesPage> {
    const res = await this.authorized({
      method: 'GET',
      path: EMPLOYEES_PATH,
      params: { limit: params.limit, offset: params.offset, updated_since: params.updatedSince },
    });
    return parsePage(employeesPageSchema, res.data, `Personio employees page at offset ${params.offset}`);
  }

  /**
   * Every employee, page by page (limit/offset, offset counted in records). With `since`, the
   * updated_since filter is added; Personio documents that limit/offset may then be ignored and
   * everything returned at once — a page longer than the limit is taken as that whole answer.
   */
  async *employeeRows(since: Date | null): AsyncGenerator<EmployeesPage['data']> {
    const { pageSize: limit, maxPages } = this.options;
    const guard = new PageGuard('Personio', maxPages);
    // ISO 8601 without offset, as documented ("2022-12-24T08:15:30"); UTC, so that an account
    // reading it as local time (ahead of UTC) gets a slightly earlier cut-off: a superset.
    const updatedSince = since ? since.toISOString().slice(0, 19) : undefined;
    let offset = 0;
    let seen = 0;
    let total: number | null = null;
    for (;;) {
      guard.next(offset);
      const page = await this.employeesPage({ limit, offset, updatedSince });
      const rows = page.data;
      const id = (i: number) => String((rows[i]?.attributes.id as { value?: unknown } | undefined)?.value ?? '');
      guard.content(rows.length ? `${id(0)}..${id(rows.length - 1)}#${rows.length}` : '', offset);
      if (page.metadata) {
        guard.total(page.metadata.total_elements, offset);
        total = guard.announcedTotal;
      }
      seen += rows.length;
      if (rows.length > 0) yield rows;
      if (rows.length === 0 || rows.length < limit) break;
      if (rows.length > limit) break; // pagination ignored: this was the whole answer
      if (total !== null && offset + rows.length >= total) break;
      offset += rows.length;
    }
    if (total !== null && seen < total) {
      throw new AppError('connector_bad_response', `Personio: the listing ended after ${seen} of ${total} employees: incomplete, not trusting it`, { retryable: true });
    }
  }

  /**
   * One employee by id, or null when Personio answers 404 (no such employee any more).
   * https://developer.personio.de/reference/get_company-employees-employee-id
   * GET /v1/company/employees/{employee_id} → { success, data: { type, attributes } }.
   */
  async employeeById(id: string): Promise<EmployeeRow | null> {
    try {
      const res = await this.authorized({ method: 'GET', path: `${EMPLOYEES_PATH}/${encodeURIComponent(id)}` });
      return parsePage(employeeResponseSchema, res.data, `Personio employee ${id}`).data;
    } catch (err) {
      if (isAppError(err) && err.code === 'connector_request_failed' && (err.details as { status?: number } | undefined)?.status === 404) return null;
      throw err;
    }
  }

  /** One authenticated request: a token, then one employee. */
  async check(): Promise<void> {
    await this.employeesPage({ limit: 1, offset: 0 });
  }
}
