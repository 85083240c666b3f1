import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basicCredentials, FakeServer, type FakeReply, type FakeRequest } from './fake-server.js';

/**
 * A fake BambooHR written from the public docs:
 * - HTTP Basic auth, the API key as user name, any password;
 * - POST /api/gateway.php/{companyDomain}/v2/datasets/employee/data with
 *   { fields, filter, orderBy, page, pageSize } (pageSize default 100, max 1000) →
 *   { data: [{ fields }], links: { next?, prev? }, meta: { page, pageSize, totalPages, totalItems } };
 * - OData-style filters of the forms `status in ('Active','Inactive')`, `x eq 'v'`, `eeid eq 12`,
 *   `eeid gt 12`, `lastChanged gt '…'` joined by `and` or by `or` (not both); anything else is
 *   a 422 INVALID_FILTER (a filter `eeid eq 1 or eeid eq 2 …` is the by-id look-up);
 * - orderBy `<field> asc|desc` whose field must be in `fields` (else 400 UE-1001).
 * Rows come from the recorded pages in fixtures/bamboohr (or generated ones).
 */

export type BamboohrRow = { fields: Record<string, unknown> };

const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/bamboohr/', import.meta.url));

/** The rows of the recorded dataset pages, in order. */
export function loadBamboohrFixtureRows(): BamboohrRow[] {
  const rows: BamboohrRow[] = [];
  for (const f of ['employee-dataset-page-1.json', 'employee-dataset-page-2.json']) {
    const page = JSON.parse(readFileSync(FIXTURE_DIR + f, 'utf8')) as { data: BamboohrRow[] };
    rows.push(...page.data);
  }
  return rows;
}

/** `n` realistic rows (eeid 1..n), every 10th inactive, managers in a simple tree. */
export function generateBamboohrRows(n: number): BamboohrRow[] {
  const depts = ['Engineering', 'Sales', 'Finance', 'Operations', 'Human Resources'];
  const sites = ['Berlin, Germany', 'London, UK', 'Lindon, Utah', 'Sydney, Australia'];
  return Array.from({ length: n }, (_, i) => {
    const id = i + 1;
    const inactive = id % 10 === 0;
    return {
      fields: {
        eeid: String(id),
        employeeNumber: String(1000 + id),
        firstName: `First${id}`,
        lastName: `Last${id}`,
        preferredName: null,
        email: `employee${id}@acme.example`,
        status: inactive ? 'Inactive' : 'Active',
        employmentStatus: inactive ? 'Terminated' : 'Full-Time',
        hireDate: `20${String(10 + (id % 14)).padStart(2, '0')}-0${1 + (id % 9)}-1${id % 10}`,
        terminationDate: inactive ? '2024-12-31' : null,
        jobInformationJobTitle: `Title ${id % 37}`,
        jobInformationDepartment: depts[id % depts.length],
        jobInformationDivision: 'Global',
        jobInformationLocation: sites[id % sites.length],
        jobInformationReportsTo: id === 1 ? null : `First${Math.floor(id / 2)} Last${Math.floor(id / 2)}`,
        supervisorEid: id === 1 ? null : String(Math.floor(id / 2)),
        lastChanged: `2025-01-${String(1 + (id % 28)).padStart(2, '0')}T10:00:00+00:00`,
      },
    };
  });
}

export class FakeBamboohr extends FakeServer {
  rows: BamboohrRow[];

  constructor(
    readonly opts: { companyDomain: string; apiKey: string; rows?: BamboohrRow[] },
  ) {
    super();
    this.rows = opts.rows ?? loadBamboohrFixtureRows();
  }

  get datasetPath(): string {
    return `/api/gateway.php/${this.opts.companyDomain}/v2/datasets/employee/data`;
  }

  /**
   * Requests for listing page `n`: page number `n`, or a keyset request (`… and eeid gt K`) whose
   * key has (n - 1) pages of the current rows at or below it. Look-ups by id are not pages.
   */
  isPage(n: number): (req: FakeRequest) => boolean {
    return (req) => {
      if (req.path !== this.datasetPath) return false;
      const body = (req.body ?? {}) as { page?: number; pageSize?: number; filter?: unknown };
      const filter = String(body.filter ?? '');
      if (/^eeid eq /.test(filter)) return false;
      const key = /\band\s+eeid\s+gt\s+(\d+)\s*$/i.exec(filter);
      if (!key) return (body.page ?? 1) === n;
      const below = this.rows.filter((r) => Number(r.fields.eeid) <= Number(key[1])).length;
      return 1 + Math.round(below / (body.pageSize ?? 100)) === n;
    };
  }

  protected handle(req: FakeRequest): FakeReply {
    const m = /^\/api\/gateway\.php\/([^/]+)\/(.+)$/.exec(req.path);
    if (!m) return { status: 404, body: problem(404, 'Not Found') };
    const creds = basicCredentials(req);
    if (!creds || creds.user !== this.opts.apiKey) {
      return { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="BambooHR"' } };
    }
    if (m[1] !== this.opts.companyDomain) return { status: 404, body: problem(404, 'Company not found') };
    if (req.method === 'POST' && m[2] === 'v2/datasets/employee/data') return this.dataset(req);
    return { status: 404, body: problem(404, 'Not Found') };
  }

  private dataset(req: FakeRequest): FakeReply {
    const body = (req.body ?? {}) as { fields?: unknown; filter?: unknown; orderBy?: unknown; page?: unknown; pageSize?: unknown };
    if (!Array.isArray(body.fields) || body.fields.length === 0) return { status: 400, body: problem(400, 'fields is required') };
    const fields = body.fields as string[];
    const page = body.page === undefined ? 1 : Number(body.page);
    const pageSize = body.pageSize === undefined ? 100 : Number(body.pageSize);
    if (!Number.isInteger(page) || page < 1) return { status: 400, body: problem(400, 'page must be >= 1') };
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) return { status: 400, body: problem(400, 'pageSize must be 1..1000') };

    let rows = this.rows;
    if (body.filter !== undefined) {
      const pred = parseFilter(String(body.filter));
      if (!pred) return { status: 422, body: { ...problem(422, 'Invalid filter'), code: 'INVALID_FILTER' } };
      rows = rows.filter((r) => pred(r.fields));
    }
    if (body.orderBy !== undefined) {
      const om = /^(\w+)\s+(asc|desc)$/i.exec(String(body.orderBy).trim());
      if (!om || !fields.includes(om[1])) return { status: 400, body: { ...problem(400, 'orderBy field must be in fields'), code: 'UE-1001' } };
      const [, f, dir] = om;
      const sign = dir.toLowerCase() === 'desc' ? -1 : 1;
      rows = [...rows].sort((a, b) => sign * compare(a.fields[f], b.fields[f]));
    }
    const totalItems = rows.length;
    const totalPages = Math.ceil(totalItems / pageSize);
    const slice = rows.slice((page - 1) * pageSize, page * pageSize);
    const self = `${this.url}${this.datasetPath}`;
    return {
      status: 200,
      body: {
        data: slice.map((r) => ({ fields: Object.fromEntries(fields.map((f) => [f, r.fields[f] ?? null])) })),
        links: {
          ...(page < totalPages ? { next: `${self}?page=${page + 1}&pageSize=${pageSize}` } : {}),
          ...(page > 1 ? { prev: `${self}?page=${page - 1}&pageSize=${pageSize}` } : {}),
        },
        meta: { page, pageSize, totalPages, totalItems },
      },
    };
  }
}

function problem(status: number, title: string) {
  return { type: 'about:blank', title, status };
}

function compare(a: unknown, b: unknown): number {
  const na = Number(a);
  const nb = Number(b);
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb;
  return String(a ?? '').localeCompare(String(b ?? ''));
}

/**
 * The OData subset of the docs: clauses joined by `and` or by `or` (never both: 422);
 * `f in ('a','b')`, `f eq|ne|gt|ge|lt|le 'text'` or a bare number. Numbers compare as numbers,
 * timestamps as instants, other values as text.
 */
function parseFilter(expr: string): ((f: Record<string, unknown>) => boolean) | null {
  const hasAnd = /\s+and\s+/i.test(expr);
  const hasOr = /\s+or\s+/i.test(expr);
  if (hasAnd && hasOr) return null;
  const preds: Array<(f: Record<string, unknown>) => boolean> = [];
  for (const clause of expr.split(hasOr ? /\s+or\s+/i : /\s+and\s+/i)) {
    const inM = /^(\w+)\s+in\s+\((.*)\)$/i.exec(clause.trim());
    if (inM) {
      const values = inM[2].split(',').map((v) => v.trim().replace(/^'(.*)'$/, '$1'));
      preds.push((f) => values.includes(String(f[inM[1]])));
      continue;
    }
    const cmp = /^(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(?:'((?:[^']|'')*)'|(-?\d+(?:\.\d+)?))$/i.exec(clause.trim());
    if (!cmp) return null;
    const [, field, op, quoted, number] = cmp;
    const value = quoted !== undefined ? quoted.replaceAll("''", "'") : number;
    preds.push((f) => {
      const v = f[field];
      if (v === null || v === undefined) return op.toLowerCase() === 'ne';
      const a = String(v);
      let c: number;
      if (number !== undefined || (/^-?\d+(\.\d+)?$/.test(a) && /^-?\d+(\.\d+)?$/.test(value))) c = Number(a) - Number(value);
      else {
        const ta = Date.parse(a);
        const tb = Date.parse(value);
        c = !Number.isNaN(ta) && !Number.isNaN(tb) && /^\d{4}-/.test(a) ? ta - tb : a.localeCompare(value);
      }
      switch (op.toLowerCase()) {
        case 'eq': return c === 0;
        case 'ne': return c !== 0;
        case 'gt': return c > 0;
        case 'ge': return c >= 0;
        case 'lt': return c < 0;
        default: return c <= 0;
      }
    });
  }
  return hasOr ? (f) => preds.some((p) => p(f)) : (f) => preds.every((p) => p(f));
}
