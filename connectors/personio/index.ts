import type { ConnectorContext, HrConnector, HrEmployee } from '../types.js';
import { parseOptions, type ConnectorHttpDeps } from '../http/client.js';
import { mapRecords } from '../http/records.js';
import { distinctIds, mapLookupRows } from '../http/lookup.js';
import { AppError } from '../../src/lib/errors.js';
import { PersonioApi } from './client.js';
import { PersonioV2Api } from './v2-client.js';
import { listV2, lookupV2 } from './v2-listing.js';
import { toEmployee } from './map.js';
import { personioEmployeeSchema, personioOptionsSchema, type PersonioOptions } from './schemas.js';

/**
 * Personio v2 (`apiVersion: v2`): persons by cursor, employments per person (v2-listing.ts).
 * Personio v1 (default): GET /v1/company/employees paged by limit/offset, bearer token from POST /v1/auth
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
      if (options.apiVersion === 'v2') await PersonioV2Api.create(options, ctx, deps).check();
      else await PersonioApi.create(options, ctx, deps).check();
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
      if (options.apiVersion === 'v2') {
        const v2 = PersonioV2Api.create(options, ctx, deps);
        const found = await lookupV2(v2, distinctIds(externalIds), ctx);
        ctx.log.info({ vendor: 'Personio', api: 'v2', asked: externalIds.length, requests: v2.stats.requests, retries: v2.stats.retries }, 'connector look-up finished');
        return found;
      }
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
  if (options.apiVersion === 'v2') {
    const v2 = PersonioV2Api.create(options, ctx, deps);
    const stats = { employmentRequests: 0, remembered: 0, notRead: 0 };
    let listed = 0;
    for await (const page of listV2(v2, options, ctx, stats)) {
      listed += page.length;
      yield page;
    }
    ctx.log.info(
      { vendor: 'Personio', api: 'v2', employees: listed, requests: v2.stats.requests, retries: v2.stats.retries, tokensIssued: v2.tokensIssued, ...stats, incremental: ctx.since !== null },
      'connector listing finished',
    );
    return;
  }
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
