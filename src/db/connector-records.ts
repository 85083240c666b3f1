import type { EntityManager } from '@mikro-orm/postgresql';
import type { ConnectorState } from '../../connectors/types.js';
import { bound } from './sql.js';

/**
 * A connector's memory between runs (table connector_records): the `ConnectorContext.state`
 * the sync engine hands a connector. One statement per call, whatever the number of keys.
 */
export function connectorState(em: EntityManager, connectorId: string): ConnectorState {
  return {
    async get(keys) {
      const out = new Map<string, unknown>();
      if (keys.length === 0) return out;
      const rows = await bound<{ key: string; value: unknown }>(
        em,
        `select r.key, r.value from connector_records r join jsonb_array_elements_text(?::jsonb) as k(v) on r.key = k.v where r.connector_id = ?`,
        [JSON.stringify(keys), connectorId],
      );
      for (const r of rows) out.set(r.key, r.value);
      return out;
    },
    async put(entries) {
      if (entries.length === 0) return;
      await bound(
        em,
        `insert into connector_records (connector_id, key, value, updated_at)
         select ?, e.key, e.value, now() from jsonb_to_recordset(?::jsonb) as e(key text, value jsonb)
         on conflict (connector_id, key) do update set value = excluded.value, updated_at = now()`,
        [connectorId, JSON.stringify(entries.map(([key, value]) => ({ key, value })))],
      );
    },
    async retain(prefix, keep) {
      await bound(
        em,
        `delete from connector_records r where r.connector_id = ? and starts_with(r.key, ?)
           and not exists (select 1 from jsonb_array_elements_text(?::jsonb) as k(v) where k.v = r.key)`,
        [connectorId, prefix, JSON.stringify(keep)],
      );
    },
    async delete(keys) {
      if (keys.length === 0) return;
      await bound(em, `delete from connector_records r using jsonb_array_elements_text(?::jsonb) as k(v) where r.connector_id = ? and r.key = k.v`, [JSON.stringify(keys), connectorId]);
    },
  };
}
