import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basicCredentials, FakeServer, type FakeReply, type FakeRequest } from './fake-server.js';

/**
 * A fake HiBob written from the public docs (People read API contract):
 * - HTTP Basic auth with the service user id and token; wrong → 401;
 * - POST /v1/people/search { fields?, filters?, showInactive = false, humanReadable? };
 *   not paginated: every match in one `employees` array;
 * - filters: at most one, fieldPath root.id or root.email, operator equals; an empty
 *   `filters: []` or anything else → 400; at most 400 fields;
 * - response keys: requested fields nested by category (`work.department`) plus slash
 *   keys (`/work/department: { value }`); humanReadable APPEND adds `humanReadable`,
 *   REPLACE puts the display values in place.
 * People come from the recorded response in fixtures/hibob (or generated ones), stored with
 * every field; the server projects the requested ones.
 */

export type HibobPerson = Record<string, unknown> & { id: string };

const FIXTURE = fileURLToPath(new URL('../../fixtures/hibob/people-search-append.json', import.meta.url));

export function loadHibobFixturePeople(): HibobPerson[] {
  return (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { employees: HibobPerson[] }).employees;
}

/** `n` people with ids 1000000000000000001…, every 10th terminated. */
export function generateHibobPeople(n: number): HibobPerson[] {
  const depts: Array<[string, string]> = [['209192163', 'Finance'], ['209192170', 'R&D'], ['209192180', 'Sales']];
  return Array.from({ length: n }, (_, i) => {
    const id = String(1000000000000000001n + BigInt(i));
    const terminated = (i + 1) % 10 === 0;
    const [deptId, dept] = depts[i % depts.length];
    const mgr = i === 0 ? null : { id: String(1000000000000000001n + BigInt(Math.floor((i - 1) / 2))), displayName: `Manager ${i}` };
    return {
      id,
      email: `person${i + 1}@acme.example`,
      firstName: `Given${i + 1}`,
      surname: `Family${i + 1}`,
      displayName: `Given${i + 1} Family${i + 1}`,
      work: { title: String(180000000 + (i % 20)), department: deptId, site: 'Berlin Office', siteId: 1234, reportsTo: mgr, startDate: '2021-04-01', employeeIdInCompany: i + 1 },
      internal: { status: terminated ? 'Inactive' : 'Active', lifecycleStatus: terminated ? 'terminated' : 'employed', terminationDate: terminated ? '2024-09-30' : null },
      humanReadable: { work: { title: `Title ${i % 20}`, department: dept, site: 'Berlin Office' }, internal: {} },
    };
  });
}

export class FakeHibob extends FakeServer {
  people: HibobPerson[];

  constructor(readonly opts: { serviceUserId: string; token: string; people?: HibobPerson[] }) {
    super();
    this.people = opts.people ?? loadHibobFixturePeople();
  }

  /** Search requests that filter by id (the slices), optionally only slice `n` (1-based, retries included). */
  isSlice(n?: number): (req: FakeRequest) => boolean {
    return (req) => {
      const values = filterValues(req);
      if (req.path !== '/v1/people/search' || !values) return false;
      if (n === undefined) return true;
      const first = this.requests.map(filterValues).find((v) => v && v.length > 0);
      const size = first?.length ?? 1;
      const pos = this.people.findIndex((p) => p.id === values[0]);
      return pos >= 0 && Math.floor(pos / size) + 1 === n;
    };
  }

  isIdListing(req: FakeRequest): boolean {
    return req.path === '/v1/people/search' && !(req.body as { filters?: unknown })?.filters;
  }

  protected handle(req: FakeRequest): FakeReply {
    const creds = basicCredentials(req);
    if (!creds || creds.user !== this.opts.serviceUserId || creds.password !== this.opts.token) {
      return { status: 401, body: { error: 'Unauthorized' } };
    }
    if (req.method === 'POST' && req.path === '/v1/people/search') return this.search(req);
    return { status: 404, body: { error: 'Not found' } };
  }

  private search(req: FakeRequest): FakeReply {
    const body = (req.body ?? {}) as { fields?: unknown; filters?: unknown; showInactive?: unknown; humanReadable?: unknown };
    const fields = body.fields === undefined ? ['root.id', 'root.email', 'root.firstName', 'root.surname', 'work.department', 'work.site'] : body.fields;
    if (!Array.isArray(fields) || fields.length > 400) return { status: 400, body: { error: 'fields: at most 400 field ids' } };
    let people = this.people;
    if (body.filters !== undefined) {
      const filters = body.filters as Array<{ fieldPath?: string; operator?: string; values?: unknown }>;
      if (!Array.isArray(filters) || filters.length !== 1) return { status: 400, body: { error: 'filters: exactly one filter object, or omit filters' } };
      const [f] = filters;
      if ((f.fieldPath !== 'root.id' && f.fieldPath !== 'root.email') || f.operator !== 'equals' || !Array.isArray(f.values)) {
        return { status: 400, body: { error: 'filters: only root.id / root.email with equals' } };
      }
      const values = new Set((f.values as unknown[]).map(String));
      const key = f.fieldPath === 'root.id' ? 'id' : 'email';
      people = people.filter((p) => values.has(String(p[key])));
    }
    if (body.showInactive !== true) {
      people = people.filter((p) => (p.internal as { status?: string } | undefined)?.status === 'Active');
    }
    const hr = body.humanReadable;
    if (hr !== undefined && hr !== 'APPEND' && hr !== 'REPLACE') return { status: 400, body: { error: 'humanReadable: APPEND or REPLACE' } };
    return { status: 200, body: { employees: people.map((p) => project(p, fields as string[], hr as 'APPEND' | 'REPLACE' | undefined)) } };
  }
}

function filterValues(req: FakeRequest): string[] | null {
  const f = (req.body as { filters?: Array<{ values?: unknown }> } | undefined)?.filters;
  return Array.isArray(f) && Array.isArray(f[0]?.values) ? (f[0].values as unknown[]).map(String) : null;
}

function project(p: HibobPerson, fields: string[], humanReadable: 'APPEND' | 'REPLACE' | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const human: Record<string, unknown> = {};
  const hrSource = (p.humanReadable ?? {}) as Record<string, unknown>;
  for (const field of fields) {
    const [category, name] = field.split('.');
    if (!name) continue;
    const source = category === 'root' ? p : ((p[category] ?? {}) as Record<string, unknown>);
    if (!(name in source)) continue; // unknown or unpermitted field: silently omitted
    const value = source[name];
    const hrCat = category === 'root' ? hrSource : ((hrSource[category] ?? {}) as Record<string, unknown>);
    const display = name in hrCat ? hrCat[name] : value;
    const v = humanReadable === 'REPLACE' ? display : value;
    if (category === 'root') out[name] = v;
    else out[category] = { ...((out[category] as object) ?? {}), [name]: v };
    out[`/${category}/${name}`] = { value: v };
    if (humanReadable === 'APPEND' && value !== null && value !== undefined) {
      if (category === 'root') human[name] = display;
      else human[category] = { ...((human[category] as object) ?? {}), [name]: display };
    }
  }
  if (humanReadable === 'APPEND') out.humanReadable = human;
  return out;
}
