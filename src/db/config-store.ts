import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/load.js';
import { AppError } from '../lib/errors.js';
import { sql } from './sql.js';

/**
 * Makes the store know every organization and connector of the configuration — or, with
 * `organizationId`, that organization's only: what one sync run needs, at a cost that does not
 * grow with the number of organizations configured (with 1,000 of them, each run sent the whole
 * list three times). Idempotent; writes only what differs. A connector can never move to another
 * organization.
 */
export async function syncConfigToStore(em: EntityManager, config: AppConfig, opts: { organizationId?: string } = {}): Promise<void> {
  const selected = opts.organizationId === undefined ? config.organizations : config.organizations.filter((o) => o.id === opts.organizationId);
  const orgs = selected.map((o) => ({ id: o.id, name: o.name, time_zone: o.timezone ?? 'UTC' }));
  const connectors = selected.flatMap((o) => o.connectors.map((c) => ({ id: c.id, organization_id: o.id, type: c.type })));
  await sql(
    em,
    `insert into organizations (id, name, time_zone) select r.id, r.name, r.time_zone from jsonb_to_recordset(?::jsonb) as r(id text, name text, time_zone text)
     on conflict (id) do update set name = excluded.name, time_zone = excluded.time_zone, updated_at = now()
      where (organizations.name, organizations.time_zone) is distinct from (excluded.name, excluded.time_zone)`,
    [JSON.stringify(orgs)],
  );
  // Locations' time zones from the config (locations are otherwise made by HR data).
  const zones = selected.flatMap((o) => (o.locations ?? []).map((l) => ({ organization_id: o.id, name: l.name, time_zone: l.timeZone })));
  if (zones.length > 0) {
    await sql(
      em,
      `insert into locations (organization_id, name, time_zone) select r.organization_id, r.name, r.time_zone from jsonb_to_recordset(?::jsonb) as r(organization_id text, name text, time_zone text)
       on conflict (organization_id, lower(name)) do update set time_zone = excluded.time_zone where locations.time_zone is distinct from excluded.time_zone`,
      [JSON.stringify(zones)],
    );
  }
  if (connectors.length === 0) return;
  const moved = await sql<{ id: string; organization_id: string }>(
    em,
    `select c.id, c.organization_id from connectors c join jsonb_to_recordset(?::jsonb) as r(id text, organization_id text, type text)
       on r.id = c.id where r.organization_id <> c.organization_id`,
    [JSON.stringify(connectors)],
  );
  if (moved.length > 0) {
    throw new AppError('config_invalid', `connector ${moved[0].id} belongs to organization ${moved[0].organization_id} in the store; a connector cannot move to another organization (give it a new id)`);
  }
  await sql(
    em,
    `insert into connectors (id, organization_id, type) select r.id, r.organization_id, r.type from jsonb_to_recordset(?::jsonb) as r(id text, organization_id text, type text)
     on conflict (id) do update set type = excluded.type, updated_at = now() where connectors.type is distinct from excluded.type`,
    [JSON.stringify(connectors)],
  );
}
