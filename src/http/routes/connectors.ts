import type { FastifyInstance } from 'fastify';
import { sql, sqlOne } from '../../db/sql.js';
import { AppError } from '../../lib/errors.js';
import { syncEmployeesNow } from '../../sync/on-demand.js';
import { loadRunRecord } from '../../sync/run-record.js';
import { scopeOf } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { emptyBody, idParams, listRunsQuery, organizationQuery, triggerSyncBody } from '../schemas.js';

export function registerConnectorRoutes(app: FastifyInstance, deps: HttpDeps): void {
  app.get('/api/connectors', async (request) => {
    const { organizationId } = organizationQuery.parse(request.query);
    const org = scopeOf(request, organizationId);
    const data = [];
    for (const o of deps.config.organizations) {
      if (org && o.id !== org) continue;
      for (const c of o.connectors) {
        const state = await sqlOne<{ last_run_id: string | null; last_sync_at: Date | null; last_full_sync_at: Date | null }>(deps.em(), `select last_run_id, last_sync_at, last_full_sync_at from connectors where id = ?`, [c.id]);
        const lastRun = await sqlOne<{ id: string; status: string; counts: unknown; started_at: Date; finished_at: Date | null; trigger: string; dry_run: boolean }>(
          deps.em(),
          `select id, status, counts, started_at, finished_at, trigger, dry_run from sync_runs where connector_id = ? and not dry_run order by started_at desc limit 1`,
          [c.id],
        );
        data.push({
          id: c.id,
          organizationId: o.id,
          type: c.type,
          schedule: c.schedule ?? null,
          timezone: c.timezone ?? null,
          lastSyncAt: state?.last_sync_at ? new Date(state.last_sync_at).toISOString() : null,
          lastFullSyncAt: state?.last_full_sync_at ? new Date(state.last_full_sync_at).toISOString() : null,
          lastRun: lastRun
            ? { id: lastRun.id, status: lastRun.status, trigger: lastRun.trigger, counts: lastRun.counts, startedAt: new Date(lastRun.started_at).toISOString(), finishedAt: lastRun.finished_at ? new Date(lastRun.finished_at).toISOString() : null }
            : null,
        });
      }
    }
    return { data };
  });

  // Through the same queue and the same one-run-at-a-time rule as scheduled syncs.
  app.post('/api/connectors/:id/sync', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const body = triggerSyncBody.parse(request.body ?? {});
    const { organizationId } = organizationQuery.parse(request.query);
    const org = scopeOf(request, organizationId);
    const owner = deps.config.organizations.find((o) => o.connectors.some((c) => c.id === id));
    if (!owner || (org && owner.id !== org)) throw new AppError('connector_not_found', `no connector ${id}`);
    const people = [...(body.employeeId ? [body.employeeId] : []), ...(body.employeeIds ?? [])];
    // One person (or up to five) now: looked up by id, applied before the answer.
    if (people.length > 0) return reply.code(200).send(await syncEmployeesNow(deps, id, people));
    const { runId } = await deps.enqueueSync({ connectorId: id, trigger: 'api', dryRun: body.dryRun ?? false, ...(body.scope ? { scope: body.scope } : {}) });
    return reply.code(202).send({ runId, status: 'queued' });
  });

  app.get('/api/sync-runs', async (request) => {
    const q = listRunsQuery.parse(request.query);
    const org = scopeOf(request, q.organizationId);
    const where: string[] = [];
    const params: unknown[] = [];
    if (org) { where.push('organization_id = ?'); params.push(org); }
    if (q.connectorId) { where.push('connector_id = ?'); params.push(q.connectorId); }
    if (q.status) { where.push('status = ?'); params.push(q.status); }
    if (q.before) { where.push('started_at < ?'); params.push(new Date(q.before)); }
    const rows = await sql<{ id: string }>(deps.em(), `select id from sync_runs${where.length ? ` where ${where.join(' and ')}` : ''} order by started_at desc limit ?`, [...params, q.limit ?? 50]);
    const data = [];
    for (const r of rows) {
      const run = await loadRunRecord(deps.em(), r.id, { rejectedLimit: 0 });
      if (run) {
        const { rejected: _r, rejectedTruncated: _t, ...summary } = run;
        data.push(summary);
      }
    }
    return { data };
  });

  app.get('/api/sync-runs/:id', async (request) => {
    const { id } = idParams.parse(request.params);
    const { organizationId } = organizationQuery.parse(request.query);
    const run = await loadRunRecord(deps.em(), id, { organizationId: scopeOf(request, organizationId) });
    if (!run) throw new AppError('run_not_found', `no sync run ${id}`);
    return run;
  });

  for (const action of ['approve', 'reject'] as const) {
    app.post(`/api/sync-runs/:id/${action}`, async (request) => {
      const { id } = idParams.parse(request.params);
      emptyBody.parse(request.body ?? {});
      const { organizationId } = organizationQuery.parse(request.query);
      const org = scopeOf(request, organizationId);
      const run = await loadRunRecord(deps.em(), id, { organizationId: org, rejectedLimit: 0 });
      if (!run) throw new AppError('run_not_found', `no sync run ${id}`);
      const by = request.principal?.kind === 'organization' ? `token:${request.principal.tokenId}` : 'admin';
      return action === 'approve' ? deps.sync.approve(id, by) : deps.sync.reject(id, by);
    });
  }
}
