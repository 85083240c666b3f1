import type { ConnectorContext, HrEmployee } from '../types.js';
import { MalformedRecordError } from '../http/records.js';
import type { PersonioOptions } from './schemas.js';
import type { PersonioV2Api } from './v2-client.js';
import { currentEmployment, toEmployeeV2, type V2Names } from './v2-map.js';
import { v2PersonSchema, type V2Employment, type V2Person } from './v2-schemas.js';

/**
 * Personio v2 listing: persons by cursor, and for each person its current employment — one
 * request per person, the API has no bulk read of employments. So an employment is requested
 * only for a person who is new or changed since the last run (the person's `updated_at` or its
 * list of employment ids differ from what `ctx.state` remembers), or whose last read is older
 * than the full re-read cadence; the rest comes from the state, names resolved and all. At most
 * `employmentRequestBudget` employment requests per run: a person beyond it keeps the employment
 * last read, and a person never read yet is reported (`employment_not_read`, still present: never
 * deactivated for it) and read on the next run.
 */

export const DEFAULT_EMPLOYMENT_BUDGET = 5_000;
export const DEFAULT_FULL_READ_HOURS = 168;

interface Remembered {
  personUpdatedAt: string | null;
  employmentIds: string[];
  employment: V2Employment | null;
  names: V2Names;
  readAt: string;
}

interface Meta {
  /** When the last complete re-read of every employment started (it finished). */
  fullReadAt?: string;
  /** A re-read in progress (spread over runs by the budget) started then. */
  fullReadStartedAt?: string;
}

const META = 'v2:meta';
const key = (personId: string) => `v2:person:${personId}`;

export interface V2ListingStats {
  employmentRequests: number;
  remembered: number;
  notRead: number;
}

/** Names of org units and workplaces, each asked for once per run. */
class Names {
  private readonly units = new Map<string, Promise<string | null>>();
  private workplaces: Promise<Map<string, string>> | null = null;
  constructor(private readonly api: PersonioV2Api) {}

  async of(e: V2Employment | null): Promise<V2Names> {
    if (!e) return { department: null, team: null, location: null };
    const unit = (type: 'department' | 'team') => {
      const id = e.org_units?.find((u) => (u.type ?? '').toLowerCase() === type)?.id;
      if (!id) return Promise.resolve(null);
      const k = `${type}:${id}`;
      if (!this.units.has(k)) this.units.set(k, this.api.orgUnitName(id, type));
      return this.units.get(k)!;
    };
    const officeId = e.office?.id ?? null;
    let location: string | null = null;
    if (officeId) {
      this.workplaces ??= this.api.workplaces();
      location = (await this.workplaces).get(officeId) ?? null;
    }
    return { department: await unit('department'), team: await unit('team'), location };
  }
}

export async function* listV2(api: PersonioV2Api, options: PersonioOptions, ctx: ConnectorContext, stats: V2ListingStats): AsyncGenerator<HrEmployee[]> {
  const state = ctx.state;
  const now = new Date();
  let budget = options.employmentRequestBudget ?? DEFAULT_EMPLOYMENT_BUDGET;
  const everyMs = (options.employmentsFullReadEveryHours ?? DEFAULT_FULL_READ_HOURS) * 3_600_000;
  const meta = ((state ? (await state.get([META])).get(META) : undefined) ?? {}) as Meta;
  // A full re-read is due (or under way): every employment read before it started is read again.
  let fullFrom: string | null = meta.fullReadStartedAt ?? null;
  if (!fullFrom && (!meta.fullReadAt || now.getTime() - Date.parse(meta.fullReadAt) >= everyMs)) fullFrom = now.toISOString();
  const names = new Names(api);
  const listed: string[] = [];

  for await (const rows of api.personPages({ since: ctx.since })) {
    const persons: V2Person[] = [];
    for (const row of rows) {
      const p = v2PersonSchema.safeParse(row);
      if (p.success) persons.push(p.data);
      else ctx.reject({ externalId: row.id === undefined || row.id === null ? null : String(row.id), reason: 'malformed_record', detail: p.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    }
    for (const p of persons) listed.push(key(p.id));
    const remembered = state ? await state.get(persons.map((p) => key(p.id))) : new Map<string, unknown>();
    const fresh: Array<[string, Remembered]> = [];
    const page: HrEmployee[] = [];
    for (const p of persons) {
      const employmentIds = (p.employments ?? []).map((e) => e.id);
      const r = remembered.get(key(p.id)) as Remembered | undefined;
      const same = r !== undefined && r.personUpdatedAt === (p.updated_at ?? null) && r.employmentIds.join(',') === employmentIds.join(',');
      let employment: V2Employment | null;
      let n: V2Names;
      if (same && (fullFrom === null || r.readAt >= fullFrom)) {
        employment = r.employment;
        n = r.names;
        stats.remembered++;
      } else if (budget > 0) {
        budget--;
        stats.employmentRequests++;
        const list = await api.employments(p.id);
        if (list === null) continue; // deleted between the page and this request: gone, not listed
        employment = currentEmployment(list);
        n = await names.of(employment);
        fresh.push([key(p.id), { personUpdatedAt: p.updated_at ?? null, employmentIds, employment, names: n, readAt: now.toISOString() }]);
      } else if (r) {
        employment = r.employment; // over budget: the last one read, read again on a later run
        n = r.names;
        stats.notRead++;
      } else {
        stats.notRead++;
        ctx.reject({ externalId: p.id, reason: 'employment_not_read', detail: 'over options.employmentRequestBudget for this run; read on the next run' });
        continue;
      }
      try {
        const emp = toEmployeeV2(p, employment, n);
        if (ctx.includeInactive || emp.status !== 'inactive') page.push(emp);
      } catch (err) {
        if (!(err instanceof MalformedRecordError)) throw err;
        ctx.reject({ externalId: p.id, reason: 'malformed_record', detail: err.message });
      }
    }
    if (state && fresh.length > 0) await state.put(fresh);
    if (page.length > 0) yield page;
  }
  // A complete listing: people no longer listed are forgotten (the memory does not grow without end).
  if (state && ctx.since === null) await state.retain('v2:person:', listed);
  if (state && fullFrom !== null && ctx.since === null) {
    // Every person listed has been read since the re-read started (none left over the budget): it is done.
    await state.put([[META, stats.notRead === 0 ? { fullReadAt: fullFrom } : { ...meta, fullReadStartedAt: fullFrom }]]);
  }
}

/** Look-ups by id: the persons (id filter, by cursor), each with its employment read now. */
export async function lookupV2(api: PersonioV2Api, ids: readonly string[], ctx: ConnectorContext): Promise<Map<string, HrEmployee | null>> {
  const out = new Map<string, HrEmployee | null>();
  const names = new Names(api);
  for (let i = 0; i < ids.length; i += api.pageSize) {
    const batch = ids.slice(i, i + api.pageSize);
    const answered = new Set<string>();
    for await (const rows of api.personPages({ ids: batch })) {
      for (const row of rows) {
        if (row.id !== undefined && row.id !== null) answered.add(String(row.id));
        const p = v2PersonSchema.safeParse(row);
        if (!p.success || !batch.includes(p.data.id)) continue; // unreadable: unknown, left out
        const list = await api.employments(p.data.id);
        if (list === null) {
          out.set(p.data.id, null);
          continue;
        }
        const e = currentEmployment(list);
        try {
          out.set(p.data.id, toEmployeeV2(p.data, e, await names.of(e)));
        } catch (err) {
          if (!(err instanceof MalformedRecordError)) throw err;
          ctx.reject({ externalId: p.data.id, reason: 'malformed_record', detail: err.message });
        }
      }
    }
    // Asked for and not in the answer: no such person (an unreadable one stays unknown).
    for (const id of batch) if (!out.has(id) && !answered.has(id)) out.set(id, null);
  }
  return out;
}
