import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { scimPatch, type ScimPatchOperation } from 'scim-patch';
import type { AppConfig } from '../config/load.js';
import type { ConnectorConfig } from '../config/schema.js';
import { bound, sqlOne } from '../db/sql.js';
import { compileMapping } from '../domain/employee-record.js';
import { isUuid } from '../domain/uuid.js';
import type { Logger } from '../lib/logger.js';
import { runTargeted, type TargetedRunResult } from '../sync/targeted-run.js';
import { LIST_SCHEMA, MAX_RESULTS } from './discovery.js';
import { filterToSql } from './filter-sql.js';
import { invalidValue, notFound, ScimError, uniqueness } from './scim-error.js';
import { parseScimUser, SCIM_ATTRIBUTES, toEmployee, toScimUser, USER_COLUMNS, USER_SCOPE, USER_SELECT, type ScimUserInput, type ScimUserRow } from './user-resource.js';
import { patchOperations, scimPatchError } from './patch.js';

export interface ScimDeps {
  em(): EntityManager;
  config: AppConfig;
  log: Logger;
}

/** The organization's SCIM connector (the first of type `scim`), or a SCIM 404. */
export function scimConnectorOf(config: AppConfig, organizationId: string): ConnectorConfig {
  const org = config.organizations.find((o) => o.id === organizationId);
  const cc = org?.connectors.find((c) => c.type === 'scim');
  if (!cc) throw new ScimError(404, 'this organization has no SCIM connector (add one of type scim to its connectors)');
  return cc;
}

/**
 * The /Users resource of one organization. Reads go to the store; every write is a targeted
 * run of the organization's SCIM connector (never an invitation, match by id then e-mail,
 * deactivations under the threshold), after which the user is read back.
 */
export class ScimUsers {
  constructor(private readonly deps: ScimDeps) {}

  private mapping(cc: ConnectorConfig) {
    return compileMapping({ ...cc.mapping, attributes: { ...SCIM_ATTRIBUTES, ...cc.mapping.attributes } });
  }

  async get(organizationId: string, id: string, base: string): Promise<Record<string, unknown>> {
    return toScimUser(await this.row(organizationId, id), base);
  }

  private async row(organizationId: string, id: string, em = this.deps.em()): Promise<ScimUserRow> {
    const cc = scimConnectorOf(this.deps.config, organizationId);
    const row = isUuid(id) ? await sqlOne<ScimUserRow>(em, `select ${USER_SELECT} from users u where u.id = ? and u.organization_id = ? and ${USER_SCOPE}`, [id, organizationId, cc.id]) : null;
    if (!row) throw notFound(`user ${id.slice(0, 64)}`);
    return row;
  }

  async list(organizationId: string, q: { filter?: string; startIndex?: number; count?: number }, base: string): Promise<Record<string, unknown>> {
    const cc = scimConnectorOf(this.deps.config, organizationId);
    const startIndex = Math.max(1, q.startIndex ?? 1);
    const count = Math.min(MAX_RESULTS, Math.max(0, q.count ?? 100));
    const where = q.filter ? filterToSql(q.filter, USER_COLUMNS) : { sql: 'true', params: [] };
    const params = [organizationId, cc.id, ...where.params];
    const em = this.deps.em();
    const total = await bound<{ n: string }>(em, `select count(*) as n from users u where u.organization_id = ? and ${USER_SCOPE} and ${where.sql}`, params);
    const rows = count === 0 ? [] : await bound<ScimUserRow>(em, `select ${USER_SELECT} from users u where u.organization_id = ? and ${USER_SCOPE} and ${where.sql} order by u.seq limit ? offset ?`, [...params, count, startIndex - 1]);
    return { schemas: [LIST_SCHEMA], totalResults: Number(total[0]?.n ?? 0), startIndex, itemsPerPage: rows.length, Resources: rows.map((r) => toScimUser(r, base)) };
  }

  async create(organizationId: string, body: unknown, base: string): Promise<Record<string, unknown>> {
    const cc = scimConnectorOf(this.deps.config, organizationId);
    const input = parseScimUser(body);
    const em = this.deps.em();
    await this.assertUniqueUserName(em, cc, input.userName, null);
    // A user this client DELETEd comes back under its old employee id (reactivated, not duplicated).
    const deleted = input.email
      ? await sqlOne<{ external_id: string }>(em, `select external_id from users u where u.organization_id = ? and u.email is not null and lower(u.email) = lower(?) and u.connector_id = ? and u.attributes->>'scimDeleted' = 'true' limit 1`, [organizationId, input.email, cc.id])
      : null;
    const externalId = deleted?.external_id ?? randomUUID();
    const result = await this.write(cc, externalId, input, false);
    const row = await this.byExternalId(em, cc, externalId);
    if (!row) throw this.failure(result, externalId);
    return toScimUser(row, base);
  }

  async replace(organizationId: string, id: string, body: unknown, base: string): Promise<Record<string, unknown>> {
    const current = await this.row(organizationId, id);
    return this.update(organizationId, current, parseScimUser(body), base);
  }

  async patch(organizationId: string, id: string, body: unknown, base: string): Promise<Record<string, unknown>> {
    const ops = patchOperations(body);
    const current = await this.row(organizationId, id);
    const resource = structuredClone(toScimUser(current, base)) as Record<string, unknown> & { schemas: string[] };
    delete resource.meta;
    let patched: Record<string, unknown>;
    try {
      patched = scimPatch(resource as never, ops as ScimPatchOperation[], { mutateDocument: true, treatMissingAsAdd: true }) as Record<string, unknown>;
    } catch (err) {
      throw scimPatchError(err);
    }
    return this.update(organizationId, current, parseScimUser(patched), base);
  }

  /** DELETE: the user is deactivated (under the threshold) and no longer a SCIM resource; nothing is erased. */
  async remove(organizationId: string, id: string): Promise<void> {
    const cc = scimConnectorOf(this.deps.config, organizationId);
    const current = await this.row(organizationId, id);
    const input = parseScimUser(toScimUser(current, ''));
    const managerExternalId = await this.managerExternalId(this.deps.em(), cc, input.managerId);
    await runTargeted(this.deps, { connectorId: cc.id, trigger: 'scim', employees: [toEmployee(current.external_id, input, managerExternalId, true)], mapping: this.mapping(cc), windowMinutes: windowOf(cc) });
  }

  private async update(organizationId: string, current: ScimUserRow, input: ScimUserInput, base: string): Promise<Record<string, unknown>> {
    const cc = scimConnectorOf(this.deps.config, organizationId);
    const em = this.deps.em();
    if (input.userName.toLowerCase() !== (current.attributes.scimUserName ?? '').toLowerCase()) await this.assertUniqueUserName(em, cc, input.userName, current.id);
    const result = await this.write(cc, current.external_id, input, false);
    const outcome = result.outcomes.get(current.external_id);
    if (outcome?.outcome === 'rejected') throw this.failure(result, current.external_id);
    return toScimUser(await this.row(organizationId, current.id, em), base);
  }

  private async write(cc: ConnectorConfig, externalId: string, input: ScimUserInput, deleted: boolean): Promise<TargetedRunResult> {
    const managerExternalId = await this.managerExternalId(this.deps.em(), cc, input.managerId);
    return runTargeted(this.deps, {
      connectorId: cc.id,
      trigger: 'scim',
      employees: [toEmployee(externalId, input, managerExternalId, deleted)],
      mapping: this.mapping(cc),
      windowMinutes: windowOf(cc),
      // a SCIM user's employee id is minted when it is created: nobody can name it before
      linkWaitingReports: false,
    });
  }

  private async managerExternalId(em: EntityManager, cc: ConnectorConfig, managerId: string | null): Promise<string | null> {
    if (!managerId) return null;
    if (!isUuid(managerId)) throw invalidValue('manager.value: not the id of a user of this service');
    const m = await sqlOne<{ external_id: string }>(em, `select external_id from users where id = ? and connector_id = ?`, [managerId, cc.id]);
    if (!m) throw invalidValue('manager.value: no such user');
    return m.external_id;
  }

  private async assertUniqueUserName(em: EntityManager, cc: ConnectorConfig, userName: string, self: string | null): Promise<void> {
    const other = await sqlOne<{ id: string }>(
      em,
      `select u.id from users u where u.connector_id = ? and lower(u.attributes->>'scimUserName') = lower(?) and u.attributes->>'scimUserName' is not null and u.attributes->>'scimDeleted' is null${self ? ' and u.id <> ?' : ''} limit 1`,
      self ? [cc.id, userName, self] : [cc.id, userName],
    );
    if (other) throw uniqueness('userName: another user has this userName');
  }

  private async byExternalId(em: EntityManager, cc: ConnectorConfig, externalId: string): Promise<ScimUserRow | null> {
    return sqlOne<ScimUserRow>(em, `select ${USER_SELECT} from users u where u.connector_id = ? and u.external_id = ? and u.attributes->>'scimDeleted' is null`, [cc.id, externalId]);
  }

  /** Why a write produced no user: a rejection of the run, as the SCIM error a client understands. */
  private failure(result: TargetedRunResult, externalId: string): ScimError {
    const o = result.outcomes.get(externalId);
    if (o?.reason === 'duplicate_email') return uniqueness('emails: another user of the organization has this e-mail');
    if (o?.reason === 'duplicate_value') return uniqueness(o.detail === 'another user has this userName' ? 'userName: another user has this userName' : 'a unique attribute is taken by another user');
    if (o?.outcome === 'rejected') return invalidValue(`${o.reason}${o.detail ? `: ${o.detail}` : ''}`);
    if (o?.outcome === 'skipped') return invalidValue('a user created inactive is not created (active: false)');
    return invalidValue('the user could not be written');
  }
}

export function windowOf(cc: ConnectorConfig): number {
  const w = (cc.options as { deactivationWindowMinutes?: unknown }).deactivationWindowMinutes;
  return typeof w === 'number' && w > 0 ? w : 60;
}

