import { randomBytes } from 'node:crypto';
import { FakeServer, type FakeReply, type FakeRequest } from './fake-server.js';

/**
 * A fake Personio API v2 written from the public v2 docs:
 * - POST /v2/auth/token, form-encoded grant_type=client_credentials, client_id, client_secret →
 *   { access_token, token_type: 'Bearer', expires_in, scope }; wrong → 401 { error: 'invalid_client' };
 *   a token lives `tokenLifetimeSeconds` (86,400 by default; `expireTokens()` ends them all);
 * - GET /v2/persons?limit (1–50, default 10)&cursor&id=a,b (filter) → { _data: [person], _meta: { links: { self, next? } } },
 *   cursor paging (opaque, keyed on the person id: stable while people come and go);
 * - GET /v2/persons/{id}/employments?limit → { _data: [employment], _meta }, most recent first; 404 for an unknown person;
 * - GET /v2/org-units/{id}?type=department|team → { id, type, name }; GET /v2/workplaces?limit&cursor → { _data: [{ id, name }], _meta };
 * - errors as { personio_trace_id, timestamp, errors: [{ title, detail, type }] }; an unknown or expired
 *   token → 401; `rateLimit` (requests per window) → 429 with Retry-After (seconds).
 */

export interface PersonioV2Employment {
  id: string;
  status: 'ACTIVE' | 'INACTIVE' | 'ONBOARDING' | 'LEAVE';
  position: { title: string | null } | null;
  supervisor: { id: string } | null;
  org_units: Array<{ id: string; type: 'department' | 'team' }>;
  office: { id: string } | null;
  start_date: string | null;
  termination_date: string | null;
  updated_at: string;
}

export interface PersonioV2Person {
  id: string;
  first_name: string | null;
  last_name: string | null;
  preferred_name: string | null;
  email: string | null;
  created_at: string;
  updated_at: string;
  /** The person's employments, most recent first (the API lists only their ids on the person). */
  employments: PersonioV2Employment[];
}

export const V2_DEPARTMENTS: Record<string, string> = { '501': 'Engineering', '502': 'Sales', '503': 'Finance', '504': 'People' };
export const V2_WORKPLACES: Record<string, string> = { '71': 'Berlin', '72': 'Munich', '73': 'Madrid' };

/** `n` persons with ids 1..n, every 10th inactive, a manager tree, one employment each. */
export function generatePersonioV2Persons(n: number, from = 1): PersonioV2Person[] {
  return Array.from({ length: n }, (_, k) => {
    const id = from + k;
    const inactive = id % 10 === 0;
    return {
      id: String(id),
      first_name: `Vorname${id}`,
      last_name: `Nachname${id}`,
      preferred_name: null,
      email: `person${id}@acme.example`,
      created_at: '2024-01-01T00:00:00Z',
      updated_at: '2025-01-01T00:00:00Z',
      employments: [{
        id: `emp-${id}`,
        status: inactive ? 'INACTIVE' : 'ACTIVE',
        position: { title: `Role ${id % 17}` },
        supervisor: id === 1 ? null : { id: String(Math.floor(id / 2)) },
        org_units: [{ id: String(501 + (id % 4)), type: 'department' }, { id: '900', type: 'team' }],
        office: { id: String(71 + (id % 3)) },
        start_date: '2020-01-01',
        termination_date: inactive ? '2024-06-30' : null,
        updated_at: '2025-01-01T00:00:00Z',
      }],
    };
  });
}

const problem = (status: number, title: string, detail: string, code: string): FakeReply => ({
  status,
  body: { personio_trace_id: randomBytes(8).toString('hex'), timestamp: new Date().toISOString(), errors: [{ title, detail, type: `https://developer.personio.de/v2.0/page/public-api-error-codes#${code}` }] },
});

export class FakePersonioV2 extends FakeServer {
  persons: PersonioV2Person[];
  tokenLifetimeSeconds = 86_400;
  /** At most `requests` data requests per `windowMs`, then 429 + Retry-After. */
  rateLimit: { requests: number; windowMs: number } | null = null;
  tokensIssued = 0;
  readonly issuedTokens: string[] = [];
  private readonly tokens = new Map<string, number>();
  private window: { start: number; count: number } = { start: 0, count: 0 };

  constructor(readonly opts: { clientId: string; clientSecret: string; persons?: PersonioV2Person[] }) {
    super();
    this.persons = opts.persons ?? generatePersonioV2Persons(10);
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  isPersons(req: FakeRequest): boolean {
    return req.path === '/v2/persons';
  }

  isEmployments(req: FakeRequest): boolean {
    return /^\/v2\/persons\/[^/]+\/employments$/.test(req.path);
  }

  isAuth(req: FakeRequest): boolean {
    return req.path === '/v2/auth/token';
  }

  /** Requests for persons page `n` (1-based), retries included: the cursor names the (n-1)·limit-th person. */
  isPersonsPage(n: number): (req: FakeRequest) => boolean {
    return (req) => {
      if (!this.isPersons(req) || req.query.get('id')) return false;
      const cursor = req.query.get('cursor');
      if (!cursor) return n === 1;
      const limit = Number(req.query.get('limit') ?? 10);
      const after = decodeCursor(cursor);
      const before = this.persons.filter((p) => Number(p.id) <= Number(after)).length;
      return 1 + Math.round(before / limit) === n;
    };
  }

  protected handle(req: FakeRequest): FakeReply {
    if (req.method === 'POST' && req.path === '/v2/auth/token') return this.token(req);
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const expires = token ? this.tokens.get(token) : undefined;
    if (!token || expires === undefined || expires <= Date.now()) return problem(401, 'Unauthorized', 'The access token is missing, invalid or expired', 'unauthorized');
    if (this.rateLimit) {
      const now = Date.now();
      if (now - this.window.start >= this.rateLimit.windowMs) this.window = { start: now, count: 0 };
      if (++this.window.count > this.rateLimit.requests) {
        const wait = Math.max(1, Math.ceil((this.window.start + this.rateLimit.windowMs - now) / 1000));
        return { ...problem(429, 'Too Many Requests', 'Rate limit exceeded', 'too_many_requests'), headers: { 'Retry-After': String(wait) } };
      }
    }
    if (req.method !== 'GET') return problem(405, 'Method Not Allowed', `${req.method} ${req.path}`, 'method_not_allowed');
    if (req.path === '/v2/persons') return this.list(req, this.filtered(req), (p) => this.personOut(p));
    const emp = /^\/v2\/persons\/([^/]+)\/employments$/.exec(req.path);
    if (emp) {
      const p = this.persons.find((x) => x.id === decodeURIComponent(emp[1]));
      if (!p) return problem(404, 'Not Found', 'The person was not found', 'person_not_found');
      return this.list(req, p.employments.map((e) => ({ ...e, id: e.id })), (e) => ({ ...e, person: { id: p.id } }), (e) => e.id);
    }
    const ou = /^\/v2\/org-units\/([^/]+)$/.exec(req.path);
    if (ou) {
      const type = req.query.get('type');
      if (type !== 'department' && type !== 'team') return problem(400, 'Bad Request', 'type is required: department or team', 'invalid_parameter');
      const name = type === 'department' ? V2_DEPARTMENTS[ou[1]] : ou[1] === '900' ? 'Platform' : undefined;
      if (!name) return problem(404, 'Not Found', 'The org unit was not found', 'org_unit_not_found');
      return { status: 200, body: { id: ou[1], type, name } };
    }
    if (req.path === '/v2/workplaces') {
      return this.list(req, Object.entries(V2_WORKPLACES).map(([id, name]) => ({ id, name })), (w) => w, (w) => w.id);
    }
    return problem(404, 'Not Found', `The endpoint with ${req.path} was not found.`, 'api_not_found');
  }

  private filtered(req: FakeRequest): PersonioV2Person[] {
    const ids = req.query.get('id');
    if (!ids) return this.persons;
    const wanted = new Set(ids.split(','));
    return this.persons.filter((p) => wanted.has(p.id));
  }

  private personOut(p: PersonioV2Person): unknown {
    const { employments, ...rest } = p;
    return { ...rest, employments: employments.map((e) => ({ id: e.id })) };
  }

  /** Cursor paging over `items` ordered by id (numeric where ids are numbers). */
  private list<T extends { id: string }>(req: FakeRequest, items: T[], out: (t: T) => unknown, key: (t: T) => string = (t) => t.id): FakeReply {
    const limit = Number(req.query.get('limit') ?? 10);
    if (!Number.isInteger(limit) || limit < 1 || limit > 50) return problem(400, 'Bad Request', 'limit must be between 1 and 50', 'invalid_parameter');
    const cursor = req.query.get('cursor');
    const byId = (a: T, b: T) => (/^\d+$/.test(key(a)) && /^\d+$/.test(key(b)) ? Number(key(a)) - Number(key(b)) : key(a).localeCompare(key(b)));
    let rest = [...items].sort(byId);
    if (cursor) {
      let after: string;
      try {
        after = decodeCursor(cursor);
      } catch {
        return problem(400, 'Bad Request', 'invalid cursor', 'invalid_cursor');
      }
      rest = rest.filter((t) => byId(t, { id: after } as T) > 0);
    }
    const page = rest.slice(0, limit);
    const base = `${this.url}${req.path}`;
    const next = rest.length > limit ? `${base}?limit=${limit}&cursor=${encodeCursor(key(page[page.length - 1]))}` : null;
    return { status: 200, body: { _data: page.map(out), _meta: { links: { self: { href: `${base}?limit=${limit}` }, ...(next ? { next: { href: next } } : {}) } } } };
  }

  private token(req: FakeRequest): FakeReply {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.grant_type !== 'client_credentials') return { status: 400, body: { error: 'unsupported_grant_type', error_description: 'grant_type must be client_credentials' } };
    if (body.client_id !== this.opts.clientId || body.client_secret !== this.opts.clientSecret) {
      return { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } };
    }
    const token = `papi-v2-${randomBytes(16).toString('hex')}`;
    this.tokens.set(token, Date.now() + this.tokenLifetimeSeconds * 1000);
    this.tokensIssued++;
    this.issuedTokens.push(token);
    return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: this.tokenLifetimeSeconds, scope: 'personio:persons:read personio:employments:read' } };
  }
}

function encodeCursor(id: string): string {
  return Buffer.from(`after:${id}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const s = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!s.startsWith('after:')) throw new Error('bad cursor');
  return s.slice(6);
}
