import type { FastifyInstance } from 'fastify';
import { z, type ZodType } from 'zod';
import * as S from '../schemas.js';
import { ruleUpdateSchema } from '../../rules/rule-types.js';
import { createRuleBody, timeZoneBody } from './rules.js';
import { openApiWebhooks } from '../../notifications/catalogue.js';
import { exportQuery, historyQuery } from './history.js';
import { deliveriesQuery } from './notifications.js';

function schema(t: ZodType): unknown {
  return z.toJSONSchema(t, { io: 'input', unrepresentable: 'any' });
}

function queryParams(t: ZodType): unknown[] {
  const js = schema(t) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: (js.required ?? []).includes(name), schema: s }));
}

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const error = { description: 'error', content: { 'application/json': { schema: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } } } } } };
const ok = (description: string) => ({ description });
const body = (t: ZodType) => ({ required: true, content: { 'application/json': { schema: schema(t) } } });

/** The OpenAPI document, generated from the same zod schemas that validate the requests. */
export function openApiDocument(): unknown {
  const secured = { security: [{ bearer: [] }] };
  const responses = (code: string, d: string) => ({ [code]: ok(d), '400': error, '401': error, '404': error });
  return {
    openapi: '3.1.0',
    info: { title: 'hrsync API', version: '0.1.0', description: 'HR sync and deliberate invitations. Creating a user never invites; only rollouts do.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    webhooks: openApiWebhooks(),
    paths: {
      '/api/users': {
        get: { ...secured, summary: 'List users (cursor pagination)', parameters: queryParams(S.listUsersQuery), responses: responses('200', 'a page of users') },
        post: { ...secured, summary: 'Create a user by hand; invite only if `invite` is given', requestBody: body(S.createUserBody), responses: responses('201', 'the user and, with invite, its rollout') },
      },
      '/api/users/{id}': {
        get: { ...secured, parameters: [idParam], responses: responses('200', 'a user') },
        patch: { ...secured, summary: 'Change roles, location, groups…; never invites', parameters: [idParam], requestBody: body(S.updateUserBody), responses: responses('200', 'the user') },
      },
      '/api/rollouts': {
        get: { ...secured, parameters: queryParams(S.listRolloutsQuery), responses: responses('200', 'rollouts') },
        post: { ...secured, summary: 'Invite users by ids or filter, now or at sendAt', requestBody: body(S.createRolloutBody), responses: responses('202', 'the rollout') },
      },
      '/api/rollouts/{id}': { get: { ...secured, parameters: [idParam], responses: responses('200', 'a rollout with counters') } },
      '/api/rollouts/{id}/cancel': { post: { ...secured, parameters: [idParam], responses: responses('200', 'the rollout') } },
      '/api/rollouts/{id}/pause': { post: { ...secured, parameters: [idParam], responses: responses('200', 'the rollout') } },
      '/api/rollouts/{id}/resume': { post: { ...secured, parameters: [idParam], responses: responses('200', 'the rollout') } },
      '/api/invitations/accept': { post: { summary: 'Accept an invitation (public, rate-limited)', requestBody: body(S.acceptBody), responses: { '200': ok('accepted'), '400': error, '429': error } } },
      '/api/connectors': { get: { ...secured, responses: responses('200', 'connectors with their last run') } },
      '/api/connectors/{id}/sync': { post: { ...secured, summary: 'Queue a sync or a dry run (optionally with a scope override); with employeeId(s): sync those people now (200, a run on_demand)', parameters: [idParam], requestBody: body(S.triggerSyncBody), responses: { ...responses('202', 'the queued run id'), '200': ok('employeeId given: the on_demand run and each person\'s outcome'), '409': error } } },
      '/api/users/{id}/sync': { post: { ...secured, summary: 'Sync this person now: one look-up by id at the HR system (trigger on_demand); never invites', parameters: [idParam], responses: { ...responses('200', 'the run and the outcome'), '409': error } } },
      '/api/users/{id}/history': { get: { ...secured, summary: 'A person\'s history (user_events), oldest first; cursor paged', parameters: [idParam, ...queryParams(historyQuery)], responses: responses('200', '{ data: events, nextCursor }') } },
      '/api/notifications/endpoints': { get: { ...secured, summary: 'The organization\'s webhook endpoints (origin only, no secret) with consecutive failures and whether disabled', parameters: queryParams(S.organizationQuery), responses: responses('200', 'endpoints') } },
      '/api/notifications/endpoints/{id}/enable': { post: { ...secured, summary: 'Take a disabled endpoint back into service', parameters: [idParam], responses: responses('200', 'the endpoint') } },
      '/api/notifications/deliveries': { get: { ...secured, summary: 'The delivery log, newest first', parameters: queryParams(deliveriesQuery), responses: responses('200', 'deliveries') } },
      '/api/history/export': { get: { ...secured, summary: 'An organization\'s events in [from, to) as CSV or JSON, streamed', parameters: queryParams(exportQuery), responses: responses('200', 'text/csv or a JSON array') } },
      '/api/sync-runs': { get: { ...secured, parameters: queryParams(S.listRunsQuery), responses: responses('200', 'run records') } },
      '/api/sync-runs/{id}': { get: { ...secured, parameters: [idParam], responses: responses('200', 'a run record with rejected records') } },
      '/api/sync-runs/{id}/approve': { post: { ...secured, parameters: [idParam], responses: responses('200', 'the approved run') } },
      '/api/sync-runs/{id}/reject': { post: { ...secured, parameters: [idParam], responses: responses('200', 'the rejected run') } },
      '/api/rules': {
        get: { ...secured, parameters: queryParams(S.organizationQuery), responses: responses('200', 'invitation rules') },
        post: { ...secured, summary: 'A standing decision: invite joiners N days before their start date, at a local time (created off unless enabled)', requestBody: body(createRuleBody), responses: { ...responses('201', 'the rule'), '409': error } },
      },
      '/api/rules/preview': { post: { ...secured, summary: 'Who an unsaved rule would invite, and when', requestBody: body(createRuleBody), responses: responses('200', 'people and moments') } },
      '/api/rules/{id}': {
        get: { ...secured, parameters: [idParam], responses: responses('200', 'a rule') },
        patch: { ...secured, parameters: [idParam], requestBody: body(ruleUpdateSchema), responses: responses('200', 'the rule') },
      },
      '/api/rules/{id}/enable': { post: { ...secured, parameters: [idParam], responses: responses('200', 'the rule') } },
      '/api/rules/{id}/disable': { post: { ...secured, parameters: [idParam], responses: responses('200', 'the rule') } },
      '/api/rules/{id}/preview': { get: { ...secured, parameters: [idParam], responses: responses('200', 'people and moments') } },
      '/api/rules/{id}/audit': { get: { ...secured, parameters: [idParam], responses: responses('200', 'who created, changed, enabled, disabled it') } },
      '/api/locations': { get: { ...secured, parameters: queryParams(S.organizationQuery), responses: responses('200', 'locations with their time zones') } },
      '/api/locations/{id}/time-zone': { put: { ...secured, parameters: [idParam], requestBody: body(timeZoneBody), responses: responses('200', 'the location') } },
    },
  };
}

export function registerOpenApi(app: FastifyInstance): void {
  const doc = openApiDocument();
  app.get('/api/openapi.json', async () => doc);
}
