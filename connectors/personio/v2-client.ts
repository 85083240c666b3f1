import { AppError, isAppError } from '../../src/lib/errors.js';
import type { Logger } from '../../src/lib/logger.js';
import type { ConnectorContext } from '../types.js';
import { PageGuard, parsePage, type ConnectorHttpDeps, type HttpClient, type HttpRequest, type HttpResponse } from '../http/client.js';
import { createPersonioHttp } from './client.js';
import type { PersonioOptions } from './schemas.js';
import { v2EmploymentSchema, v2ListSchema, v2OrgUnitSchema, v2TokenSchema, v2WorkplaceSchema, type V2Employment, type V2List } from './v2-schemas.js';

/**
 * Personio API v2 on top of the shared HTTP client.
 *
 * Auth: POST /v2/auth/token (OAuth2 client credentials, form-encoded) → a bearer token with its
 * lifetime (`expires_in`, 24 h); renewed at 90 % of it, and once at once when a request answers
 * 401 (the request is then repeated). https://developer.personio.de/v2.0/reference/post_v2-auth-token
 * Lists: `{ _data, _meta.links.next.href }`, cursor paging, at most 50 per page.
 */
const TOKEN_PATH = '/v2/auth/token';
export const V2_MAX_PAGE = 50;

export class PersonioV2Api {
  private token: string | null = null;
  private renewAt = 0;
  tokensIssued = 0;

  constructor(
    private readonly http: HttpClient,
    private readonly options: PersonioOptions,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  static create(options: PersonioOptions, ctx: ConnectorContext, deps: ConnectorHttpDeps = {}): PersonioV2Api {
    const http = createPersonioHttp(options, ctx, deps, {
      tokenPath: TOKEN_PATH,
      freshToken: 'a freshly issued v2 token',
      forbidden: 'Personio denied access (403): the API credentials (options.clientId) need the scopes personio:persons:read and personio:employments:read',
    });
    return new PersonioV2Api(http, options, ctx.log);
  }

  get stats() {
    return this.http.stats;
  }

  get pageSize(): number {
    return Math.min(this.options.pageSize, V2_MAX_PAGE);
  }

  private async authenticate(): Promise<void> {
    const res = await this.http.request({
      method: 'POST',
      path: TOKEN_PATH,
      form: true,
      data: { grant_type: 'client_credentials', client_id: this.options.clientId, client_secret: this.options.clientSecret },
    });
    const body = parsePage(v2TokenSchema, res.data, 'Personio POST /v2/auth/token');
    this.token = body.access_token;
    this.renewAt = this.now() + 0.9 * (body.expires_in ?? 86_400) * 1000;
    this.tokensIssued++;
    this.log.debug({ vendor: 'Personio', api: 'v2', tokensIssued: this.tokensIssued }, 'connector token issued');
  }

  private async authorized(req: HttpRequest): Promise<HttpResponse> {
    if (this.token === null || this.now() >= this.renewAt) await this.authenticate();
    try {
      return await this.send(req);
    } catch (err) {
      if (!(isAppError(err) && err.code === 'connector_auth_failed' && (err.details as { status?: number } | undefined)?.status === 401)) throw err;
      this.log.info({ vendor: 'Personio', path: req.path }, 'connector token rejected, renewing');
      await this.authenticate();
      return this.send(req);
    }
  }

  private send(req: HttpRequest): Promise<HttpResponse> {
    return this.http.request({ ...req, headers: { ...req.headers, Authorization: `Bearer ${this.token}` } });
  }

  private async list(path: string, params: Record<string, string | number | undefined>, what: string): Promise<V2List> {
    const res = await this.authorized({ method: 'GET', path, params });
    return parsePage(v2ListSchema, res.data, what);
  }

  /**
   * GET /v2/persons by cursor, `pageSize` (≤ 50) per page; `since` adds updated_at.gt; `ids`
   * filters on ids (a look-up). https://developer.personio.de/v2.0/reference/get_v2-persons
   */
  async *personPages(opts: { since?: Date | null; ids?: readonly string[] } = {}): AsyncGenerator<V2List['_data']> {
    const guard = new PageGuard('Personio', this.options.maxPages);
    let cursor: string | undefined;
    for (let n = 1; ; n++) {
      guard.next(cursor ?? '-');
      const page = await this.list('/v2/persons', {
        limit: this.pageSize,
        cursor,
        'updated_at.gt': opts.since ? opts.since.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined,
        id: opts.ids ? opts.ids.join(',') : undefined,
      }, `Personio v2 persons page ${n}`);
      const ids = page._data.map((p) => String(p.id ?? ''));
      guard.content(ids.length ? `${ids[0]}..${ids[ids.length - 1]}#${ids.length}` : '', n);
      if (page._data.length > 0) yield page._data;
      const next = page._meta?.links?.next?.href ?? null;
      if (!next) return;
      const c = cursorOf(next);
      if (!c) throw new AppError('connector_bad_response', `Personio v2 persons page ${n}: a next link without a cursor`, { retryable: true });
      if (page._data.length === 0) throw new AppError('connector_bad_response', `Personio v2 persons page ${n}: empty, yet a next page is announced`, { retryable: true });
      cursor = c;
    }
  }

  /**
   * The person's employments (most recent first), or null when Personio answers 404 (no such person).
   * https://developer.personio.de/v2.0/reference/get_v2-persons-person-id-employments
   */
  async employments(personId: string): Promise<V2Employment[] | null> {
    let page: V2List;
    try {
      page = await this.list(`/v2/persons/${encodeURIComponent(personId)}/employments`, { limit: V2_MAX_PAGE }, `Personio v2 employments of person ${personId}`);
    } catch (err) {
      if (isAppError(err) && err.code === 'connector_request_failed' && (err.details as { status?: number } | undefined)?.status === 404) return null;
      throw err;
    }
    const out: V2Employment[] = [];
    for (const raw of page._data) {
      const e = v2EmploymentSchema.safeParse(raw);
      if (!e.success) throw new AppError('connector_bad_response', `Personio v2 employments of person ${personId}: unexpected response shape`, { retryable: true });
      out.push(e.data);
    }
    return out;
  }

  /** GET /v2/org-units/{id}?type=… → its name (null when unknown). */
  async orgUnitName(id: string, type: 'department' | 'team'): Promise<string | null> {
    try {
      const res = await this.authorized({ method: 'GET', path: `/v2/org-units/${encodeURIComponent(id)}`, params: { type } });
      return parsePage(v2OrgUnitSchema, res.data, `Personio v2 org unit ${id}`).name ?? null;
    } catch (err) {
      if (isAppError(err) && err.code === 'connector_request_failed' && (err.details as { status?: number } | undefined)?.status === 404) return null;
      throw err;
    }
  }

  /** GET /v2/workplaces (all pages) → id → name; an account without the endpoint (404) has none. */
  async workplaces(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    let cursor: string | undefined;
    const guard = new PageGuard('Personio', this.options.maxPages);
    try {
      for (;;) {
        guard.next(cursor ?? '-');
        const page = await this.list('/v2/workplaces', { limit: V2_MAX_PAGE, cursor }, 'Personio v2 workplaces');
        for (const raw of page._data) {
          const w = v2WorkplaceSchema.safeParse(raw);
          if (w.success && w.data.name) out.set(w.data.id, w.data.name);
        }
        const next = page._meta?.links?.next?.href;
        const c = next ? cursorOf(next) : null;
        if (!c) return out;
        cursor = c;
      }
    } catch (err) {
      if (isAppError(err) && err.code === 'connector_request_failed' && (err.details as { status?: number } | undefined)?.status === 404) {
        this.log.warn({ vendor: 'Personio' }, 'Personio v2 workplaces not available: locations left empty');
        return out;
      }
      throw err;
    }
  }

  /** One authenticated request: a token, then one person. */
  async check(): Promise<void> {
    await this.list('/v2/persons', { limit: 1 }, 'Personio v2 persons');
  }
}

function cursorOf(href: string): string | null {
  try {
    return new URL(href, 'http://x').searchParams.get('cursor');
  } catch {
    return null;
  }
}
