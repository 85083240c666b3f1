import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { sql, sqlOne } from '../../db/sql.js';
import { isTimeZone } from '../../domain/zoned-time.js';
import { isUuid } from '../../domain/uuid.js';
import { AppError } from '../../lib/errors.js';
import { ruleInputSchema, ruleUpdateSchema, type RuleService } from '../../rules/rule-service.js';
import { scopeOf } from '../auth.js';
import type { HttpDeps } from '../deps.js';
import { emptyBody, idParams, organizationQuery } from '../schemas.js';

const orgId = z.string().min(1).max(63).optional();
export const createRuleBody = ruleInputSchema.extend({ organizationId: orgId }).strict();
export const timeZoneBody = z.object({ timeZone: z.string().max(64).nullable() }).strict();

function actorOf(request: FastifyRequest): string {
  return request.principal?.kind === 'organization' ? `token:${request.principal.tokenId}` : 'admin';
}

/**
 * Invitation rules (src/rules): list, create, change, enable, disable, audit, and the preview
 * — who the rule will invite, when — for a saved rule or one not yet saved. And a location's
 * time zone, which the rules and leavers' last days are computed in.
 */
export function registerRuleRoutes(app: FastifyInstance, deps: HttpDeps & { rules: RuleService }): void {
  const { rules } = deps;
  const load = async (request: FastifyRequest) => {
    const { id } = idParams.parse(request.params);
    const { organizationId } = organizationQuery.parse(request.query);
    const rule = await rules.get(id, scopeOf(request, organizationId));
    if (!rule) throw new AppError('not_found', `no invitation rule ${id}`);
    return rule;
  };

  app.get('/api/rules', async (request) => {
    const { organizationId } = organizationQuery.parse(request.query);
    return { data: await rules.list(scopeOf(request, organizationId)) };
  });

  app.post('/api/rules', async (request, reply) => {
    const { organizationId: requested, ...input } = createRuleBody.parse(request.body ?? {});
    const organizationId = scopeOf(request, requested, { required: true })!;
    return reply.code(201).send(await rules.create(organizationId, input, actorOf(request)));
  });

  app.post('/api/rules/preview', async (request) => {
    const { organizationId: requested, ...input } = createRuleBody.parse(request.body ?? {});
    const organizationId = scopeOf(request, requested, { required: true })!;
    return { data: await rules.preview(organizationId, input) };
  });

  app.get('/api/rules/:id', async (request) => load(request));

  app.patch('/api/rules/:id', async (request) => {
    const rule = await load(request);
    return rules.update(rule.id, ruleUpdateSchema.parse(request.body ?? {}), actorOf(request), rule.organizationId);
  });

  for (const action of ['enable', 'disable'] as const) {
    app.post(`/api/rules/:id/${action}`, async (request) => {
      emptyBody.parse(request.body ?? {});
      const rule = await load(request);
      return rules.setEnabled(rule.id, action === 'enable', actorOf(request), rule.organizationId);
    });
  }

  app.get('/api/rules/:id/preview', async (request) => {
    const rule = await load(request);
    return { data: await rules.preview(rule.organizationId, rule) };
  });

  app.get('/api/rules/:id/audit', async (request) => {
    const rule = await load(request);
    return { data: await rules.auditLog(rule.id, rule.organizationId) };
  });

  // A location's time zone (null: the organization's default). Config `locations` sets it at start too.
  app.put('/api/locations/:id/time-zone', async (request) => {
    const { id } = idParams.parse(request.params);
    const { organizationId } = organizationQuery.parse(request.query);
    const { timeZone } = timeZoneBody.parse(request.body ?? {});
    if (timeZone !== null && !isTimeZone(timeZone)) throw new AppError('validation_failed', 'timeZone: not an IANA time zone (e.g. Europe/Berlin)');
    if (!isUuid(id)) throw new AppError('not_found', `no location ${id}`);
    const scope = scopeOf(request, organizationId);
    const row = await sqlOne<{ id: string; organization_id: string; name: string; time_zone: string | null }>(
      deps.em(),
      `update locations set time_zone = ? where id = ?${scope ? ' and organization_id = ?' : ''} returning id, organization_id, name, time_zone`,
      scope ? [timeZone, id, scope] : [timeZone, id],
    );
    if (!row) throw new AppError('not_found', `no location ${id}`);
    // the organization's plans follow the new zone
    await rules.evaluateOrganization(row.organization_id);
    return { id: row.id, organizationId: row.organization_id, name: row.name, timeZone: row.time_zone };
  });

  app.get('/api/locations', async (request) => {
    const { organizationId } = organizationQuery.parse(request.query);
    const scope = scopeOf(request, organizationId);
    const rows = await sql<{ id: string; organization_id: string; name: string; time_zone: string | null }>(
      deps.em(),
      `select id, organization_id, name, time_zone from locations ${scope ? 'where organization_id = ?' : ''} order by organization_id, lower(name) limit 5000`,
      scope ? [scope] : [],
    );
    return { data: rows.map((r) => ({ id: r.id, organizationId: r.organization_id, name: r.name, timeZone: r.time_zone })) };
  });
}
