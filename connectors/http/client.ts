import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import type { ZodType } from 'zod';
import { AppError, isAppError } from '../../src/lib/errors.js';
import type { Logger } from '../../src/lib/logger.js';
import { redactAddresses } from '../../src/lib/redact.js';

/**
 * The one HTTP client every HR connector uses. A new instance (with its own axios instance)
 * is created per connector run and passed to the vendor client: no singleton, no shared state.
 *
 * - timeouts (per attempt): a deadline on the whole attempt, headers and body — axios's own
 *   `timeout` only measures silence on the socket, so a response trickling a byte at a time
 *   would hold a run forever;
 * - retries with exponential backoff and jitter on network errors and 5xx;
 * - 429 and 503 honour `Retry-After` (seconds or HTTP date), capped;
 * - 401/403 fail at once (no retry) with `connector_auth_failed` and a vendor message naming
 *   the credential to check;
 * - other failures become a short request/response summary (method, path without query,
 *   status, attempts), never the raw axios error (whose config carries the auth headers);
 * - a bounded number of retries per request;
 * - request counting (`stats`) so tests and benches can assert how many requests were made.
 */

export interface RetryPolicy {
  /** Retries after the first attempt (so at most maxRetries + 1 attempts per request). */
  maxRetries: number;
  /** Backoff base: attempt n waits about baseDelayMs * 2^n (with jitter), capped at maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A server's Retry-After longer than this is cut to this. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxRetries: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
});

export const DEFAULT_TIMEOUT_MS = 30_000;

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** What tests and benches inject to run fast and deterministically; the default is real time. */
export interface ConnectorHttpDeps {
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  sleep?: Sleep;
  random?: () => number;
  /** Called with each HttpClient a connector creates (one per run), e.g. to read `stats`. */
  onClient?: (client: HttpClient) => void;
}

export interface HttpClientOptions {
  /** Vendor name used in messages and logs: 'BambooHR', 'Personio', 'HiBob'. */
  vendor: string;
  baseUrl: string;
  log: Logger;
  signal?: AbortSignal;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** HTTP Basic credentials (axios builds the header; it is never logged). */
  basicAuth?: { username: string; password: string };
  headers?: Record<string, string>;
  /** Secret values scrubbed from any vendor text that ends up in an error message. */
  secrets?: string[];
  /** The message for a 401/403: which credential or permission to check. Never include the secret. */
  authFailureMessage: (status: number, req: RequestSummary) => string;
  sleep?: Sleep;
  random?: () => number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  /** Path relative to baseUrl, without query string (query goes into `params`). */
  path: string;
  params?: Record<string, string | number | boolean | undefined>;
  data?: unknown;
  headers?: Record<string, string>;
  /** Form-encode `data` (application/x-www-form-urlencoded) instead of JSON. */
  form?: boolean;
}

export interface HttpResponse {
  status: number;
  data: unknown;
  headers: Record<string, string | undefined>;
}

/** What is safe to put into logs and error messages about a request. */
export interface RequestSummary {
  vendor: string;
  method: string;
  path: string;
  status?: number;
  attempts?: number;
  code?: string;
}

export interface RequestStats {
  /** HTTP attempts made (first tries plus retries). */
  requests: number;
  retries: number;
  /** Responses by status, and network failures by error code (e.g. ECONNRESET). */
  outcomes: Record<string, number>;
  /** Total time spent waiting between attempts (backoff and Retry-After). */
  waitedMs: number;
}

const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN',
  'ENETUNREACH', 'EHOSTUNREACH', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'UND_ERR_SOCKET', 'ERR_BAD_RESPONSE',
]);

/**
 * Parses a Retry-After header: delay-seconds or an HTTP date. Returns milliseconds to wait
 * (0 for a date in the past), or null when the header is absent or unparseable.
 */
export function parseRetryAfter(value: string | undefined | null, now: number = Date.now()): number | null {
  if (value === undefined || value === null) return null;
  const v = String(value).trim();
  if (v === '') return null;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (/^-?\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    return n >= 0 ? Math.round(n * 1000) : null;
  }
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}

/**
 * Exponential backoff with jitter for retry number `attempt` (0-based):
 * the ceiling is min(maxDelayMs, baseDelayMs * 2^attempt), and the delay is uniformly
 * drawn from [ceiling / 2, ceiling] ("equal jitter": never zero, never above the cap).
 */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (ceiling / 2) * r);
}

/**
 * How long to wait before retrying a response with this status, or null when it must not be
 * retried. 429/503 honour Retry-After (capped); other 5xx and 429/503 without it back off.
 */
export function retryDelayForStatus(
  status: number,
  retryAfter: string | undefined,
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
  now: number = Date.now(),
): number | null {
  if (status === 429 || status === 503) {
    const ra = parseRetryAfter(retryAfter, now);
    if (ra !== null) return Math.min(ra, policy.maxRetryAfterMs);
    return backoffDelay(attempt, policy, random);
  }
  if (status >= 500 && status <= 599) return backoffDelay(attempt, policy, random);
  return null;
}

export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(cancelled());
      return;
    }
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(cancelled());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

function cancelled(): AppError {
  return new AppError('connector_request_failed', 'the request was cancelled (run aborted)', { retryable: false });
}

function describe(s: RequestSummary): string {
  const parts = [`${s.vendor} ${s.method} ${s.path}`];
  if (s.status !== undefined) parts.push(`HTTP ${s.status}`);
  if (s.code) parts.push(s.code);
  if (s.attempts !== undefined) parts.push(`${s.attempts} attempt${s.attempts === 1 ? '' : 's'}`);
  return parts.join(' · ');
}

export class HttpClient {
  readonly vendor: string;
  readonly stats: RequestStats = { requests: 0, retries: 0, outcomes: {}, waitedMs: 0 };
  readonly policy: RetryPolicy;
  private readonly axios: AxiosInstance;
  private readonly log: Logger;
  private readonly signal?: AbortSignal;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly secrets: string[];
  private readonly authFailureMessage: HttpClientOptions['authFailureMessage'];
  private readonly timeoutMs: number;

  constructor(opts: HttpClientOptions) {
    this.vendor = opts.vendor;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...stripUndefined(opts.retry ?? {}) };
    this.log = opts.log;
    this.signal = opts.signal;
    this.sleep = opts.sleep ?? realSleep;
    this.random = opts.random ?? Math.random;
    this.secrets = (opts.secrets ?? []).filter((s) => s.length >= 4);
    this.authFailureMessage = opts.authFailureMessage;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.axios = axios.create({
      baseURL: opts.baseUrl.replace(/\/+$/, ''),
      timeout: this.timeoutMs,
      auth: opts.basicAuth,
      headers: { Accept: 'application/json', ...opts.headers },
      // Statuses are judged here, not by axios: no AxiosError (with its headers) for HTTP errors.
      validateStatus: () => true,
      // A redirect could carry credentials elsewhere; HR APIs do not redirect API calls.
      maxRedirects: 0,
      responseType: 'json',
      transitional: { silentJSONParsing: true, forcedJSONParsing: true, clarifyTimeoutError: true },
    });
  }

  /** Sends one logical request, retrying as the policy allows. Resolves only with a 2xx. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const summary: RequestSummary = { vendor: this.vendor, method: req.method, path: req.path };
    for (let attempt = 0; ; attempt++) {
      if (this.signal?.aborted) throw cancelled();
      this.stats.requests++;
      const started = Date.now();
      let res: AxiosResponse | undefined;
      let failure: unknown;
      // The attempt's deadline covers the whole exchange, body included (see the class comment).
      const attemptAbort = new AbortController();
      let pastDeadline = false;
      const deadline = setTimeout(() => {
        pastDeadline = true;
        attemptAbort.abort();
      }, this.timeoutMs);
      const onRunAbort = () => attemptAbort.abort();
      this.signal?.addEventListener('abort', onRunAbort, { once: true });
      try {
        res = await this.axios.request({
          method: req.method,
          url: req.path,
          params: req.params,
          data: req.form && req.data ? new URLSearchParams(req.data as Record<string, string>).toString() : req.data,
          headers: {
            ...(req.data !== undefined ? { 'Content-Type': req.form ? 'application/x-www-form-urlencoded' : 'application/json' } : {}),
            ...req.headers,
          },
          signal: attemptAbort.signal,
        });
      } catch (err) {
        failure = err;
      } finally {
        clearTimeout(deadline);
        this.signal?.removeEventListener('abort', onRunAbort);
      }
      if (res === undefined) {
        const err = failure;
        if (isAppError(err)) throw err;
        const code = pastDeadline && !this.signal?.aborted ? 'ETIMEDOUT' : networkCode(err);
        this.count(code);
        if (this.signal?.aborted || code === 'ERR_CANCELED') throw cancelled();
        const s = { ...summary, code, attempts: attempt + 1 };
        if (!RETRYABLE_NETWORK_CODES.has(code) || attempt >= this.policy.maxRetries) {
          this.log.warn({ vendor: this.vendor, method: req.method, path: req.path, code, attempts: attempt + 1 }, 'connector request failed');
          throw new AppError('connector_request_failed', `${describe(s)}: network error, giving up`, {
            retryable: true,
            details: s,
          });
        }
        const delay = backoffDelay(attempt, this.policy, this.random);
        this.log.warn({ vendor: this.vendor, method: req.method, path: req.path, code, attempt: attempt + 1, delayMs: delay }, 'connector request retry');
        await this.wait(delay);
        continue;
      }

      const status = res.status;
      this.count(String(status));
      this.log.debug({ vendor: this.vendor, method: req.method, path: req.path, status, ms: Date.now() - started, attempt: attempt + 1 }, 'connector request');
      if (status >= 200 && status < 300) {
        return { status, data: res.data, headers: flatHeaders(res.headers) };
      }
      const s: RequestSummary = { ...summary, status, attempts: attempt + 1 };
      if (status === 401 || status === 403) {
        // Never retried: a wrong key stays wrong, and retrying can lock the account.
        throw new AppError('connector_auth_failed', this.scrub(this.authFailureMessage(status, s)), { retryable: false, details: s });
      }
      const delay = retryDelayForStatus(status, headerValue(res.headers, 'retry-after'), attempt, this.policy, this.random);
      if (delay === null || attempt >= this.policy.maxRetries) {
        const vendorMsg = this.vendorMessage(res.data);
        const retryable = delay !== null;
        this.log.warn({ vendor: this.vendor, method: req.method, path: req.path, status, attempts: attempt + 1 }, 'connector request failed');
        throw new AppError(
          'connector_request_failed',
          `${describe(s)}${retryable ? ': giving up after retries' : ''}${vendorMsg ? ` (${vendorMsg})` : ''}`,
          { retryable, details: s },
        );
      }
      this.log.warn({ vendor: this.vendor, method: req.method, path: req.path, status, attempt: attempt + 1, delayMs: delay }, 'connector request retry');
      await this.wait(delay);
    }
  }

  private async wait(ms: number): Promise<void> {
    this.stats.retries++;
    this.stats.waitedMs += ms;
    await this.sleep(ms, this.signal);
  }

  private count(outcome: string): void {
    this.stats.outcomes[outcome] = (this.stats.outcomes[outcome] ?? 0) + 1;
  }

  /**
   * A short vendor error text (JSON `message`/`error`/`title`), scrubbed of secrets and of
   * e-mail addresses (vendors name the employee a request failed on), cut to 160 chars. It
   * ends up in the run record and in the "sync failed" log line.
   */
  private vendorMessage(data: unknown): string | null {
    let msg: unknown = null;
    if (typeof data === 'object' && data !== null) {
      const d = data as Record<string, unknown>;
      const err = d.error;
      msg = d.message ?? d.title ?? d.detail ?? (typeof err === 'object' && err !== null ? (err as Record<string, unknown>).message : err);
    }
    if (typeof msg !== 'string' || msg.trim() === '') return null;
    return redactAddresses(this.scrub(msg.replace(/\s+/g, ' ').trim())).slice(0, 160);
  }

  /** Replaces any known secret value in vendor-provided text. */
  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('[redacted]');
    return out;
  }
}

export function createHttpClient(opts: HttpClientOptions, deps: ConnectorHttpDeps = {}): HttpClient {
  const client = new HttpClient({
    ...opts,
    timeoutMs: deps.timeoutMs ?? opts.timeoutMs,
    retry: { ...opts.retry, ...deps.retry },
    sleep: deps.sleep ?? opts.sleep,
    random: deps.random ?? opts.random,
  });
  deps.onClient?.(client);
  return client;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function networkCode(err: unknown): string {
  if (axios.isCancel(err)) return 'ERR_CANCELED';
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  if (typeof e?.code === 'string' && e.code !== 'ERR_NETWORK') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  if (typeof e?.code === 'string') return e.code;
  return 'ERR_NETWORK';
}

function headerValue(headers: unknown, name: string): string | undefined {
  const h = headers as Record<string, unknown> & { get?: (n: string) => unknown };
  const v = typeof h?.get === 'function' ? h.get(name) : h?.[name];
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? String(v[0]) : String(v);
}

function flatHeaders(headers: unknown): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries((headers ?? {}) as Record<string, unknown>)) {
    if (v === undefined || v === null) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? String(v[0]) : String(v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Response validation and pagination guards, shared by the vendor clients.

/**
 * Validates a raw page with zod. A page that does not match (truncated JSON, missing envelope,
 * wrong types at page level) throws `connector_bad_response`: the run fails, nothing is deactivated.
 * The message names the paths that failed, never the values.
 */
export function parsePage<T>(schema: ZodType<T>, data: unknown, what: string): T {
  if (typeof data === 'string') {
    throw new AppError('connector_bad_response', `${what}: the response body is not valid JSON (${data.length} bytes; truncated?)`, { retryable: true });
  }
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issues = r.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
  throw new AppError('connector_bad_response', `${what}: unexpected response shape: ${issues}`, { retryable: true });
}

/**
 * Guards a paged listing against endless pagination: at most `maxPages` pages, and no page
 * (cursor, offset or page number) requested twice; and against a listing that shrinks while it
 * is read (`total`).
 */
export class PageGuard {
  private readonly seen = new Set<string>();
  private pages = 0;
  private lastFingerprint = '';
  private maxTotal: number | null = null;

  constructor(private readonly vendor: string, private readonly maxPages: number) {}

  /** Call before requesting each page, with the key that identifies it (offset, page number, cursor). */
  next(key: string | number): void {
    const k = String(key);
    if (this.seen.has(k)) {
      throw new AppError('connector_bad_response', `${this.vendor}: pagination repeated page ${k}: refusing to loop`, { retryable: true });
    }
    this.seen.add(k);
    this.pages++;
    if (this.pages > this.maxPages) {
      throw new AppError('connector_bad_response', `${this.vendor}: more than ${this.maxPages} pages (options.maxPages): refusing to continue`, { retryable: false });
    }
  }

  /**
   * Call after each page with a fingerprint of its content (e.g. first and last record id):
   * a server that ignores the offset/cursor and keeps sending the same page is caught here.
   */
  content(fingerprint: string, key: string | number): void {
    if (fingerprint !== '' && fingerprint === this.lastFingerprint) {
      throw new AppError('connector_bad_response', `${this.vendor}: page ${key} repeats the previous page: the API ignored the pagination, refusing to loop`, { retryable: true });
    }
    this.lastFingerprint = fingerprint;
  }

  /**
   * Call after each page with the total the vendor announces for the whole listing. A total that
   * drops while the listing is read means records left it mid-read and later pages shifted: an
   * employee may have slid onto a page already read, and would look gone. The listing fails (a
   * growing total is harmless: a record read twice is only a duplicate).
   */
  total(announced: number, key: string | number): void {
    if (this.maxTotal !== null && announced < this.maxTotal) {
      throw new AppError(
        'connector_bad_response',
        `${this.vendor}: the listing shrank while it was read (page ${key} announces ${announced} records, an earlier page ${this.maxTotal}): not trusting it`,
        { retryable: true },
      );
    }
    this.maxTotal = Math.max(this.maxTotal ?? 0, announced);
  }

  /** The largest total announced so far (null: none): a complete listing reaches it. */
  get announcedTotal(): number | null {
    return this.maxTotal;
  }

  get count(): number {
    return this.pages;
  }
}

/** Options parsing shared by connectors: zod issues become one `validation_failed` naming every path. */
export function parseOptions<T>(schema: ZodType<T>, options: unknown, vendor: string): T {
  const r = schema.safeParse(options);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `options.${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new AppError('validation_failed', `${vendor} connector options are invalid: ${issues}`);
}
