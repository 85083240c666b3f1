import type { ConnectorContext, HrConnector, HrEmployee } from '../types.js';
import { parseOptions, type ConnectorHttpDeps } from '../http/client.js';
import { mapRecords, todayUtc } from '../http/records.js';
import { chunks, distinctIds, mapLookupRows } from '../http/lookup.js';
import { BamboohrApi } from './client.js';
import { toEmployee } from './map.js';
import { bamboohrOptionsSchema, bamboohrRowSchema, type BamboohrOptions } from './schemas.js';

/**
 * BambooHR: the `employee` dataset (Datasets API v2), paged by page/pageSize, active and
 * inactive employees; incremental runs filter on lastChanged.
 * `deps` lets tests and benches inject fast backoff and read request stats.
 */
export function createBamboohrConnector(deps: ConnectorHttpDeps = {}): HrConnector<BamboohrOptions> {
  return {
    type: 'bamboohr',
    configSchema: bamboohrOptionsSchema,
    supportsIncremental: true,

    async checkConnection(config, ctx) {
      const options = parseOptions(bamboohrOptionsSchema, config, 'BambooHR');
      await BamboohrApi.create(options, ctx, deps).check();
    },

    listEmployees(config, ctx) {
      return listEmployees(config, ctx, deps);
    },

    async lookupEmployees(config, externalIds, ctx) {
      const options = parseOptions(bamboohrOptionsSchema, config, 'BambooHR');
      const api = BamboohrApi.create(options, ctx, deps);
      const today = todayUtc();
      const out = new Map<string, HrEmployee | null>();
      for (const batch of chunks(distinctIds(externalIds), LOOKUP_BATCH)) {
        const rows = await api.rowsByIds(batch);
        mapLookupRows(rows, bamboohrRowSchema, (row) => toEmployee(row.fields, today), idOfRow, ctx, out, batch);
      }
      ctx.log.info({ vendor: 'BambooHR', asked: externalIds.length, requests: api.stats.requests, retries: api.stats.retries }, 'connector look-up finished');
      return out;
    },
  };
}

/** Ids per look-up request (one dataset filter `eeid eq … or …`). */
const LOOKUP_BATCH = 100;

async function* listEmployees(config: unknown, ctx: ConnectorContext, deps: ConnectorHttpDeps): AsyncGenerator<HrEmployee[]> {
  const options = parseOptions(bamboohrOptionsSchema, config, 'BambooHR');
  const api = BamboohrApi.create(options, ctx, deps);
  const today = todayUtc();
  let yielded = 0;
  for await (const rows of api.employeeRows(ctx.since)) {
    const page = mapRecords(rows, bamboohrRowSchema, (row) => toEmployee(row.fields, today), idOfRow, ctx);
    yielded += page.length;
    if (page.length > 0) yield page;
  }
  ctx.log.info({ vendor: 'BambooHR', employees: yielded, requests: api.stats.requests, retries: api.stats.retries, incremental: ctx.since !== null }, 'connector listing finished');
}

function idOfRow(row: unknown): string | null {
  const id = (row as { fields?: { eeid?: unknown } } | null)?.fields?.eeid;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

export const bamboohrConnector = createBamboohrConnector();
