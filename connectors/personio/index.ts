import type { ConnectorContext, HrConnector, HrEmployee } from '../types.js';
import { parseOptions, type ConnectorHttpDeps } from '../http/client.js';
import { mapRecords } from '../http/records.js';
import { distinctIds, mapLookupRows } from '../http/lookup.js';
import { AppError } from '../../src/lib/errors.js';
import { PersonioApi } from './client.js';
import { toEmployee } from './map.js';
import { personioEmployeeSchema, personioOptionsSchema, type PersonioOptions } from './schemas.js';

/**
 * Personio: GET /v1/company/employees paged by limit/offset, bearer token from POST /v1/auth
 * (renewed when it expires, rotates or a 401 arrives mid-listing); incremental runs use
 * updated_since. `deps` lets tests and benches inject fast backoff and read request stats.
 */
export function createPersonioConnector(deps: ConnectorHttpDeps = {}): HrConnector<PersonioOptions> {
  return {
    type: 'personio',
    configSchema: personioOptionsSchema,
    supportsIncremental: true,

    async checkConnection(config, ctx) {
      const options = parseOptions(personioOptionsSchema, config, 'Personio');
      await PersonioApi.create(options, ctx, deps).check();
    },

    listEmployees(config, ctx) {
      return listEmployees(config, ctx, deps);
    },

    /**
     * v1 has no filter on ids: one GET /v1/company/employees/{id} per id, one at a time (the
     * shared client waits out 429 + Retry-After), a 404 being "gone".
     */
    async lookupEmployees(config, externalIds, ctx) {
      const options = parseOptions(personioOptionsSchema, config, 'Personio');
      const api = PersonioApi.create(options, ctx, deps);
      const out = new Map<string, HrEmployee | null>();
      for (const id of distinctIds(externalIds)) {
        if (ctx.signal?.aborted) throw new AppError('connector_request_failed', 'the look-up was cancelled (run aborted)');
        const row = await api.employeeById(id);
        mapLookupRows(row ? [row] : [], personioEmployeeSchema, toEmployee, idOfRow, ctx, out, [id]);
      }
      ctx.log.info({ vendor: 'Personio', asked: externalIds.length, requests: api.stats.requests, retries: api.stats.retries }, 'connector look-up finished');
      return out;
    },
  };
}

async function* listEmployees(config: unknown, ctx: ConnectorContext, deps: ConnectorHttpDeps): AsyncGenerator<HrEmployee[]> {
  const options = parseOptions(personioOptionsSchema, config, 'Personio');
  const api = PersonioApi.create(options, ctx, deps);
  let yielded = 0;
  for await (const rows of api.employeeRows(ctx.since)) {
    const page = mapRecords(rows, personioEmployeeSchema, toEmployee, idOfRow, ctx);
    yielded += page.length;
    if (page.length > 0) yield page;
  }
  ctx.log.info(
    { vendor: 'Personio', employees: yielded, requests: api.stats.requests, retries: api.stats.retries, tokensIssued: api.tokensIssued, incremental: ctx.since !== null },
    'connector listing finished',
  );
}

function idOfRow(row: unknown): string | null {
  const id = (row as { attributes?: { id?: { value?: unknown } } } | null)?.attributes?.id?.value;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

export const personioConnector = createPersonioConnector();
