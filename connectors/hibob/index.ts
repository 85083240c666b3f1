import type { ConnectorContext, HrConnector, HrEmployee } from '../types.js';
import { parseOptions, type ConnectorHttpDeps } from '../http/client.js';
import { mapRecords } from '../http/records.js';
import { chunks, distinctIds, mapLookupRows } from '../http/lookup.js';
import { HibobApi } from './client.js';
import { toEmployee } from './map.js';
import { HIBOB_FIELDS, hibobEmployeeSchema, hibobOptionsSchema, type HibobOptions } from './schemas.js';

/**
 * HiBob: POST /v1/people/search, paged client-side in id slices (the endpoint has no paging);
 * no incremental listing (people/search has no changed-since filter), so every run is full.
 * `deps` lets tests and benches inject fast backoff and read request stats.
 */
export function createHibobConnector(deps: ConnectorHttpDeps = {}): HrConnector<HibobOptions> {
  return {
    type: 'hibob',
    configSchema: hibobOptionsSchema,
    supportsIncremental: false,

    async checkConnection(config, ctx) {
      const options = parseOptions(hibobOptionsSchema, config, 'HiBob');
      await HibobApi.create(options, ctx, deps).check();
    },

    listEmployees(config, ctx) {
      return listEmployees(config, ctx, deps);
    },

    /** POST /v1/people/search with a root.id filter, `pageSize` ids per request, inactive included. */
    async lookupEmployees(config, externalIds, ctx) {
      const options = parseOptions(hibobOptionsSchema, config, 'HiBob');
      const api = HibobApi.create(options, ctx, deps);
      const out = new Map<string, HrEmployee | null>();
      for (const batch of chunks(distinctIds(externalIds), options.pageSize)) {
        const res = await api.search({ fields: HIBOB_FIELDS, ids: batch, humanReadable: 'APPEND' }, `HiBob people search (${batch.length} employees by id)`);
        mapLookupRows(res.employees, hibobEmployeeSchema, toEmployee, idOfRow, ctx, out, batch);
      }
      ctx.log.info({ vendor: 'HiBob', asked: externalIds.length, requests: api.stats.requests, retries: api.stats.retries }, 'connector look-up finished');
      return out;
    },
  };
}

async function* listEmployees(config: unknown, ctx: ConnectorContext, deps: ConnectorHttpDeps): AsyncGenerator<HrEmployee[]> {
  const options = parseOptions(hibobOptionsSchema, config, 'HiBob');
  const api = HibobApi.create(options, ctx, deps);
  let yielded = 0;
  for await (const rows of api.employeeRows()) {
    const page = mapRecords(rows, hibobEmployeeSchema, toEmployee, idOfRow, ctx);
    yielded += page.length;
    if (page.length > 0) yield page;
  }
  ctx.log.info({ vendor: 'HiBob', employees: yielded, requests: api.stats.requests, retries: api.stats.retries }, 'connector listing finished');
}

function idOfRow(row: unknown): string | null {
  const id = (row as { id?: unknown } | null)?.id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

export const hibobConnector = createHibobConnector();
