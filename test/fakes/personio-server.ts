import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FakeServer, type FakeReply, type FakeRequest } from './fake-server.js';

/**
 * A fake Personio (personnel data API v1) written from the public docs:
 * - POST /v1/auth with client_id/client_secret (JSON or form body; the deprecated query string
 *   is accepted too) → { success: true, data: { token } }; wrong credentials → 401;
 * - bearer tokens ("papi-…") on GET /v1/company/employees; an unknown/expired token → 401;
 *   every successful response carries the token to use next in its Authorization header;
 * - limit (max 100) / offset (records) pagination, updated_since filter (ISO 8601);
 *   response { success, metadata: { total_elements, current_page, total_pages }, offset, limit, data };
 * - GET /v1/company/employees/{employee_id} → { success, data: { type, attributes } }, 404 when unknown.
 * Scripted token behaviour: `tokenMaxUses` (a token expires after N data requests),
 * `rotateTokens` (the legacy one-time tokens: each response hands out a new one, the old one
 * dies), and `expireTokens()` to expire every token at a chosen moment.
 */

export type PersonioRow = { type: string; attributes: Record<string, { value: unknown } & Record<string, unknown>> };

const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/personio/', import.meta.url));

export function loadPersonioFixtureRows(): PersonioRow[] {
  const rows: PersonioRow[] = [];
  for (const f of ['employees-offset-0.json', 'employees-offset-3.json']) {
    rows.push(...(JSON.parse(readFileSync(FIXTURE_DIR + f, 'utf8')) as { data: PersonioRow[] }).data);
  }
  return rows;
}

/** `n` employees with ids 1..n, every 10th inactive, a manager tree. */
export function generatePersonioRows(n: number): PersonioRow[] {
  const a = (label: string, value: unknown, type = 'standard') => ({ label, value, type });
  const offices = ['Berlin', 'Munich', 'Madrid', 'London'];
  const depts = ['Engineering', 'Sales', 'Finance', 'People'];
  return Array.from({ length: n }, (_, i) => {
    const id = i + 1;
    return {
      type: 'Employee',
      attributes: {
        id: a('ID', id, 'integer'),
        first_name: a('First name', `Vorname${id}`),
        last_name: a('Last name', `Nachname${id}`),
        email: a('Email', `mitarbeiter${id}@acme.example`),
        status: a('Status', id % 10 === 0 ? 'inactive' : 'active'),
        position: a('Position', `Role ${id % 17}`),
        supervisor: a('Supervisor', id === 1 ? null : { type: 'Employee', attributes: { id: a('ID', Math.floor(id / 2), 'integer') } }),
        hire_date: a('Hire date', '2020-01-01T00:00:00+01:00', 'date'),
        termination_date: a('Termination date', id % 10 === 0 ? '2024-06-30T00:00:00+02:00' : null, 'date'),
        last_modified_at: a('Last modified', `2025-01-${String(1 + (id % 28)).padStart(2, '0')}T10:00:00+01:00`, 'date'),
        office: a('Office', { type: 'Office', attributes: { id: id % 4, name: offices[id % 4] } }),
        department: a('Department', { type: 'Department', attributes: { id: 100 + (id % 4), name: depts[id % 4] } }),
        team: a('Team', []),
      },
    };
  });
}

export class FakePersonio extends FakeServer {
  rows: PersonioRow[];
  /** Live tokens → data requests served with it. */
  private readonly tokens = new Map<string, number>();
  tokensIssued = 0;
  tokenMaxUses: number | null;
  rotateTokens: boolean;
  /** Every token ever issued (to prove none reaches a log line). */
  readonly issuedTokens: string[] = [];
  /** Misbehaviours: answer every page as if offset were 0; or, with updated_since, ignore limit/offset (as documented). */
  ignoreOffset = false;
  ignorePagingWhenUpdatedSince = false;

  constructor(readonly opts: { clientId: string; clientSecret: string; rows?: PersonioRow[]; tokenMaxUses?: number; rotateTokens?: boolean }) {
    super();
    this.rows = opts.rows ?? loadPersonioFixtureRows();
    this.tokenMaxUses = opts.tokenMaxUses ?? null;
    this.rotateTokens = opts.rotateTokens ?? false;
  }

  /** Every token issued so far stops working. */
  expireTokens(): void {
    this.tokens.clear();
  }

  isEmployees(offset?: number): (req: FakeRequest) => boolean {
    return (req) => req.path === '/v1/company/employees' && (offset === undefined || Number(req.query.get('offset') ?? 0) === offset);
  }

  isAuth(req: FakeRequest): boolean {
    return req.path === '/v1/auth';
  }

  protected handle(req: FakeRequest): FakeReply {
    if (req.method === 'POST' && req.path === '/v1/auth') return this.auth(req);
    if (req.method === 'GET' && req.path === '/v1/company/employees') return this.employees(req);
    const byId = /^\/v1\/company\/employees\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && byId) return this.employee(req, decodeURIComponent(byId[1]));
    return { status: 404, body: { success: false, error: { code: 404, message: 'Not found' } } };
  }

  private issue(): string {
    const token = `papi-${randomBytes(16).toString('hex')}`;
    this.tokens.set(token, 0);
    this.tokensIssued++;
    this.issuedTokens.push(token);
    return token;
  }

  private auth(req: FakeRequest): FakeReply {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const id = body.client_id ?? req.query.get('client_id');
    const secret = body.client_secret ?? req.query.get('client_secret');
    if (id !== this.opts.clientId || secret !== this.opts.clientSecret) {
      return { status: 401, body: { success: false, error: { code: 0, message: 'Wrong credentials' } } };
    }
    return { status: 200, body: { success: true, data: { token: this.issue() } } };
  }

  /** The bearer token of a data request if it is live (and counts its use), else the 401 to answer. */
  private useToken(req: FakeRequest): { token: string } | { reply: FakeReply } {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const uses = token ? this.tokens.get(token) : undefined;
    if (!token || uses === undefined || (this.tokenMaxUses !== null && uses >= this.tokenMaxUses)) {
      if (token) this.tokens.delete(token);
      return { reply: { status: 401, body: { success: false, error: { code: 0, message: 'The token has expired or is invalid' } } } };
    }
    this.tokens.set(token, uses + 1);
    return { token };
  }

  /** The token to hand out with a successful answer (a new one when tokens rotate). */
  private nextToken(token: string): Record<string, string> {
    let next = token;
    if (this.rotateTokens) {
      this.tokens.delete(token);
      next = this.issue();
    }
    return { Authorization: `Bearer ${next}` };
  }

  /** GET /v1/company/employees/{employee_id}: one employee, or 404. */
  private employee(req: FakeRequest, id: string): FakeReply {
    const t = this.useToken(req);
    if ('reply' in t) return t.reply;
    const row = this.rows.find((r) => String(r.attributes.id?.value) === id);
    if (!row) return { status: 404, body: { success: false, error: { code: 404, message: 'Employee not found' } } };
    return { status: 200, headers: this.nextToken(t.token), body: { success: true, data: row } };
  }

  isEmployeeById(req: FakeRequest): boolean {
    return /^\/v1\/company\/employees\/[^/]+$/.test(req.path);
  }

  private employees(req: FakeRequest): FakeReply {
    const t = this.useToken(req);
    if ('reply' in t) return t.reply;
    const token = t.token;

    let limit = Number(req.query.get('limit') ?? 50);
    let offset = Number(req.query.get('offset') ?? 0);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      return { status: 400, body: { success: false, error: { code: 0, message: 'The limit must be between 1 and 100' } } };
    }
    if (!Number.isInteger(offset) || offset < 0) {
      return { status: 400, body: { success: false, error: { code: 0, message: 'Invalid offset' } } };
    }
    let rows = this.rows;
    const since = req.query.get('updated_since');
    if (since) {
      const t = Date.parse(`${since}${/[zZ]|[+-]\d\d:?\d\d$/.test(since) ? '' : 'Z'}`);
      if (Number.isNaN(t)) return { status: 400, body: { success: false, error: { code: 0, message: 'Invalid updated_since' } } };
      rows = rows.filter((r) => Date.parse(String(r.attributes.last_modified_at?.value ?? '')) >= t);
    }
    if (this.ignoreOffset) offset = 0;
    if (since && this.ignorePagingWhenUpdatedSince) {
      offset = 0;
      limit = Math.max(rows.length, 1);
    }
    const total = rows.length;
    return {
      status: 200,
      headers: this.nextToken(token),
      body: {
        success: true,
        metadata: { total_elements: total, current_page: Math.floor(offset / limit), total_pages: Math.ceil(total / limit) },
        offset,
        limit,
        data: rows.slice(offset, offset + limit),
      },
    };
  }
}
