import type { EntityManager } from '@mikro-orm/postgresql';
import type { Filter } from 'scim2-parse-filter';
import { z } from 'zod';
import { bound, isUniqueViolation, sql, sqlOne } from '../db/sql.js';
import { isUuid } from '../domain/uuid.js';
import { GROUP_SCHEMA, LIST_SCHEMA, MAX_RESULTS } from './discovery.js';
import { filterToSql, parseFilter, type Columns } from './filter-sql.js';
import { patchOperations } from './patch.js';
import { invalidValue, notFound, ScimError, uniqueness } from './scim-error.js';
import { scimConnectorOf, type ScimDeps } from './scim-users.js';

/**
 * The /Groups resource: the organization's groups (the same ones HR departments feed) and their
 * members. Members a SCIM client adds are recorded as its own (`source = 'scim'`), so HR's
 * memberships and the client's never undo each other. Members must be users of the organization.
 */
const GROUP_COLUMNS: Columns = {
  id: { sql: 'g.id::text', type: 'string', caseExact: true },
  displayname: { sql: 'lower(g.name)', type: 'string' },
  'members.value': { sql: `(select string_agg(m.user_id::text, ',') from group_memberships m where m.group_id = g.id)`, type: 'string', caseExact: true },
  'meta.created': { sql: 'g.created_at', type: 'date' },
};

const groupBody = z
  .object({
    displayName: z.string().trim().min(1, 'displayName is required').max(200),
    members: z.array(z.object({ value: z.string().max(100) }).passthrough()).max(100_000).nullable().optional(),
  })
  .passthrough();

interface GroupRow {
  id: string;
  name: string;
  created_at: Date;
}

export class ScimGroups {
  constructor(private readonly deps: ScimDeps) {}

  private async render(em: EntityManager, g: GroupRow, base: string, withMembers: boolean): Promise<Record<string, unknown>> {
    const members = withMembers
      ? await sql<{ value: string; display: string | null }>(
          em,
          `select u.id as value, nullif(concat_ws(' ', u.first_name, u.last_name), '') as display from group_memberships m join users u on u.id = m.user_id where m.group_id = ? order by u.seq`,
          [g.id],
        )
      : null;
    return {
      schemas: [GROUP_SCHEMA],
      id: g.id,
      displayName: g.name,
      ...(members ? { members: members.map((m) => ({ value: m.value, ...(m.display ? { display: m.display } : {}), $ref: `${base}/Users/${m.value}` })) } : {}),
      meta: { resourceType: 'Group', created: new Date(g.created_at).toISOString(), location: `${base}/Groups/${g.id}` },
    };
  }

  private async row(em: EntityManager, organizationId: string, id: string): Promise<GroupRow> {
    scimConnectorOf(this.deps.config, organizationId);
    const g = isUuid(id) ? await sqlOne<GroupRow>(em, `select id, name, created_at from groups where id = ? and organization_id = ?`, [id, organizationId]) : null;
    if (!g) throw notFound(`group ${id.slice(0, 64)}`);
    return g;
  }

  async get(organizationId: string, id: string, base: string, withMembers = true): Promise<Record<string, unknown>> {
    const em = this.deps.em();
    return this.render(em, await this.row(em, organizationId, id), base, withMembers);
  }

  async list(organizationId: string, q: { filter?: string; startIndex?: number; count?: number; withMembers: boolean }, base: string): Promise<Record<string, unknown>> {
    scimConnectorOf(this.deps.config, organizationId);
    const em = this.deps.em();
    const startIndex = Math.max(1, q.startIndex ?? 1);
    const count = Math.min(MAX_RESULTS, Math.max(0, q.count ?? 100));
    let where = { sql: 'true', params: [] as unknown[] };
    if (q.filter) {
      // members[value eq "id"] / members.value eq "id": membership, not a text match
      const member = memberFilter(parseFilter(q.filter));
      where = member !== null
        ? { sql: `exists (select 1 from group_memberships m where m.group_id = g.id and m.user_id::text = ?)`, params: [member] }
        : filterToSql(q.filter, GROUP_COLUMNS);
    }
    const total = await bound<{ n: string }>(em, `select count(*) as n from groups g where g.organization_id = ? and ${where.sql}`, [organizationId, ...where.params]);
    const rows = count === 0 ? [] : await bound<GroupRow>(em, `select g.id, g.name, g.created_at from groups g where g.organization_id = ? and ${where.sql} order by g.created_at, g.id limit ? offset ?`, [organizationId, ...where.params, count, startIndex - 1]);
    const resources = [];
    for (const g of rows) resources.push(await this.render(em, g, base, q.withMembers));
    return { schemas: [LIST_SCHEMA], totalResults: Number(total[0]?.n ?? 0), startIndex, itemsPerPage: rows.length, Resources: resources };
  }

  async create(organizationId: string, body: unknown, base: string): Promise<Record<string, unknown>> {
    scimConnectorOf(this.deps.config, organizationId);
    const input = parse(body);
    const em = this.deps.em();
    const g = await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      const row = await this.unique(() => sqlOne<GroupRow>(t, `insert into groups (organization_id, name) values (?, ?) returning id, name, created_at`, [organizationId, input.displayName]));
      await this.addMembers(t, organizationId, row.id, (input.members ?? []).map((m) => m.value));
      return row;
    });
    return this.render(em, g, base, true);
  }

  async replace(organizationId: string, id: string, body: unknown, base: string): Promise<Record<string, unknown>> {
    const input = parse(body);
    const em = this.deps.em();
    const g = await this.row(em, organizationId, id);
    await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      await this.rename(t, g.id, input.displayName);
      await sql(t, `delete from group_memberships where group_id = ? and source = 'scim'`, [g.id]);
      await this.addMembers(t, organizationId, g.id, (input.members ?? []).map((m) => m.value));
    });
    return this.get(organizationId, id, base);
  }

  /** Entra: add/remove members (`members[value eq "…"]`), replace displayName; Okta: the same, and replace without a path. */
  async patch(organizationId: string, id: string, body: unknown, base: string, returnBody: boolean): Promise<Record<string, unknown> | null> {
    const ops = patchOperations(body);
    const em = this.deps.em();
    const g = await this.row(em, organizationId, id);
    await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      for (const op of ops) {
        const path = op.path?.trim() ?? '';
        const sub = /^members\[\s*value\s+eq\s+"([^"]*)"\s*\]$/i.exec(path);
        if (/^displayName$/i.test(path) || (!path && op.op !== 'remove')) {
          const value = path ? op.value : (op.value as Record<string, unknown>);
          const name = path ? value : Object.entries(value as Record<string, unknown>).find(([k]) => k.toLowerCase() === 'displayname')?.[1];
          const members = path ? undefined : Object.entries(value as Record<string, unknown>).find(([k]) => k.toLowerCase() === 'members')?.[1];
          if (name !== undefined) {
            if (typeof name !== 'string' || !name.trim() || name.length > 200) throw invalidValue('displayName: a non-empty string of at most 200 characters');
            await this.rename(t, g.id, name.trim());
          }
          if (members !== undefined) {
            await sql(t, `delete from group_memberships where group_id = ? and source = 'scim'`, [g.id]);
            await this.addMembers(t, organizationId, g.id, memberIds(members));
          }
        } else if (/^members$/i.test(path)) {
          if (op.op === 'add') await this.addMembers(t, organizationId, g.id, memberIds(op.value));
          else if (op.op === 'replace') {
            await sql(t, `delete from group_memberships where group_id = ? and source = 'scim'`, [g.id]);
            await this.addMembers(t, organizationId, g.id, memberIds(op.value));
          } else {
            // remove with a value list (Entra), or all members
            const ids = op.value === undefined ? null : memberIds(op.value);
            await this.removeMembers(t, g.id, ids);
          }
        } else if (sub && op.op === 'remove') {
          await this.removeMembers(t, g.id, [sub[1]]);
        } else if (/^externalId$/i.test(path)) {
          // not kept: a group's identity here is its id and name
        } else {
          throw new ScimError(400, `the path "${path.slice(0, 100)}" is not supported on groups`, 'invalidPath');
        }
      }
    });
    return returnBody ? this.get(organizationId, id, base) : null;
  }

  /** DELETE: the client's memberships go; the group itself goes too unless HR or an administrator still uses it. */
  async remove(organizationId: string, id: string): Promise<void> {
    const em = this.deps.em();
    const g = await this.row(em, organizationId, id);
    await em.transactional(async (tx) => {
      const t = tx as EntityManager;
      await sql(t, `delete from group_memberships where group_id = ? and source = 'scim'`, [g.id]);
      await sql(t, `delete from groups g where g.id = ? and not exists (select 1 from group_memberships m where m.group_id = g.id)`, [g.id]);
    });
  }

  private async rename(t: EntityManager, id: string, name: string): Promise<void> {
    await this.unique(() => sql(t, `update groups set name = ? where id = ? and name is distinct from ?`, [name, id, name]));
  }

  private async unique<T>(fn: () => Promise<T | null>): Promise<T> {
    try {
      const r = await fn();
      return r as T;
    } catch (err) {
      if (isUniqueViolation(err)) throw uniqueness('displayName: another group of the organization has this name');
      throw err;
    }
  }

  private async addMembers(t: EntityManager, organizationId: string, groupId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const bad: string | undefined = ids.find((id) => !isUuid(id));
    if (bad !== undefined) throw invalidValue(`members: "${String(bad).slice(0, 64)}" is not a user id`);
    const found = await bound<{ id: string }>(t, `select u.id from users u where u.organization_id = ? and u.id in (select x::uuid from jsonb_array_elements_text(?::jsonb) as x)`, [organizationId, JSON.stringify(ids)]);
    if (found.length !== new Set(ids.map((i) => i.toLowerCase())).size) throw invalidValue('members: not every member is a user of this organization');
    await bound(
      t,
      `insert into group_memberships (user_id, group_id, source) select x::uuid, ?, 'scim' from jsonb_array_elements_text(?::jsonb) as x on conflict do nothing`,
      [groupId, JSON.stringify([...new Set(ids)])],
    );
  }

  private async removeMembers(t: EntityManager, groupId: string, ids: string[] | null): Promise<void> {
    if (ids === null) {
      await sql(t, `delete from group_memberships where group_id = ? and source = 'scim'`, [groupId]);
      return;
    }
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return;
    await bound(t, `delete from group_memberships where group_id = ? and source = 'scim' and user_id in (select x::uuid from jsonb_array_elements_text(?::jsonb) as x)`, [groupId, JSON.stringify(valid)]);
  }
}

function parse(body: unknown): z.infer<typeof groupBody> {
  const r = groupBody.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0];
    throw invalidValue(`${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
  }
  if (r.data.displayName.includes('\u0000')) throw invalidValue('displayName may not contain the NUL character');
  return r.data;
}

/** `members[value eq "id"]` or `members.value eq "id"`: the user id asked for, else null. */
function memberFilter(f: Filter): string | null {
  if (f.op === '[]' && /^members$/i.test(f.attrPath)) {
    const v = f.valFilter;
    return v.op === 'eq' && /^value$/i.test(v.attrPath) && typeof v.compValue === 'string' ? v.compValue : null;
  }
  return f.op === 'eq' && /^members(\.value)?$/i.test(f.attrPath) && typeof f.compValue === 'string' ? f.compValue : null;
}

function memberIds(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map((m) => {
    const v = m && typeof m === 'object' ? (m as { value?: unknown }).value : m;
    if (typeof v !== 'string') throw invalidValue('members: each member is { "value": "<user id>" }');
    return v;
  });
}
