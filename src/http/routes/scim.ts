import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TokenVerifier } from '../../auth/tokens.js';
import { errorMessage, isAppError } from '../../lib/errors.js';
import { resourceTypes, schemas, serviceProviderConfig, LIST_SCHEMA } from '../../scim/discovery.js';
import { invalidSyntax, invalidValue, isScimError, notFound, ScimError } from '../../scim/scim-error.js';
import { ScimGroups } from '../../scim/scim-groups.js';
import { ScimUsers } from '../../scim/scim-users.js';
import type { AuthLimiter } from '../auth-limiter.js';
import type { HttpDeps } from '../deps.js';
import { httpStatus } from '../errors.js';
import { hookRoutes } from './hooks.js';

/**
 * The routes of changes pushed to hrsync, registered by app.ts in one line:
 * the SCIM 2.0 service provider at /scim/v2 (RFC 7644) and vendor webhooks at /hooks.
 */
export async function pushRoutes(app: FastifyInstance, opts: { deps: HttpDeps; limiter?: AuthLimiter }): Promise<void> {
  await app.register(scimRoutes, { prefix: '/scim/v2', deps: opts.deps, limiter: opts.limiter });
  await app.register(hookRoutes, { prefix: '/hooks', deps: opts.deps });
}

function bearer(request: FastifyRequest): string | null {
  const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  return m ? m[1] : null;
}

const SCIM_TYPE = 'application/scim+json; charset=utf-8';

function send(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type(SCIM_TYPE).send(JSON.stringify(body));
}

function orgOf(request: FastifyRequest): string {
  const p = request.principal;
  if (!p || p.kind !== 'organization') throw new ScimError(401, 'a SCIM token of the organization is required');
  return p.organizationId;
}

function intParam(q: Record<string, unknown>, name: string): number | undefined {
  const v = q[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string' || !/^-?\d{1,9}$/.test(v)) throw invalidValue(`${name}: an integer`);
  return Number(v);
}

function listQuery(request: FastifyRequest) {
  const q = request.query as Record<string, unknown>;
  const filter = q.filter;
  if (filter !== undefined && typeof filter !== 'string') throw new ScimError(400, 'filter: one filter expression', 'invalidFilter');
  const excluded = typeof q.excludedAttributes === 'string' ? q.excludedAttributes.toLowerCase().split(',').map((s) => s.trim()) : [];
  const attributes = typeof q.attributes === 'string' ? q.attributes.toLowerCase().split(',').map((s) => s.trim()) : null;
  return {
    filter: filter || undefined,
    startIndex: intParam(q, 'startIndex'),
    count: intParam(q, 'count'),
    withMembers: !excluded.includes('members') && (attributes === null || attributes.includes('members')),
  };
}

async function scimRoutes(app: FastifyInstance, opts: { deps: HttpDeps; limiter?: AuthLimiter }): Promise<void> {
  const { deps } = opts;
  const verifier = new TokenVerifier(deps.em, null, 5_000, 'scim');
  const users = new ScimUsers(deps);
  const groups = new ScimGroups(deps);
  const base = `${deps.config.appUrl.replace(/\/+$/, '')}/scim/v2`;

  app.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    try {
      const value = JSON.parse(text, (k, v) => (k === '__proto__' ? undefined : v)) as unknown;
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return done(invalidSyntax('the body must be a JSON object'), undefined);
      done(null, value);
    } catch {
      done(invalidSyntax('the body is not valid JSON'), undefined);
    }
  });

  // Every SCIM request carries an organization token with the scim scope; checked before the body is read.
  app.addHook('onRequest', async (request) => {
    const presented = bearer(request);
    // Wrong tokens count against the client like on /api (src/http/auth-limiter.ts): no guessing at SCIM either.
    if (presented) await opts.limiter?.check(request.ip);
    const principal = await verifier.verify(presented);
    if (!principal && presented) await opts.limiter?.fail(request.ip);
    if (!principal) throw new ScimError(401, 'missing, invalid or revoked bearer token (a token with the scim scope)');
    request.principal = principal;
  });

  app.setErrorHandler((err: unknown, request, reply) => {
    if (isScimError(err)) return send(reply, err.status, err.toBody());
    if (isAppError(err)) {
      const status = httpStatus(err.code);
      if (status >= 500) request.log.error({ code: err.code }, 'scim request failed');
      return send(reply, status, new ScimError(status, status >= 500 ? 'internal error' : err.message, status === 400 ? 'invalidValue' : undefined).toBody());
    }
    const e = err as { statusCode?: number; message?: string };
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return send(reply, e.statusCode, new ScimError(e.statusCode, e.message ?? 'bad request', e.statusCode === 400 ? 'invalidSyntax' : undefined).toBody());
    }
    request.log.error({ err: errorMessage(err) }, 'unexpected error in a scim request');
    return send(reply, 500, new ScimError(500, 'internal error').toBody());
  });
  app.setNotFoundHandler((_request, reply) => send(reply, 404, notFound('resource').toBody()));

  const body = (request: FastifyRequest) => {
    if (request.body === undefined || request.body === null) throw invalidSyntax('a JSON body is required');
    return request.body;
  };
  const id = (request: FastifyRequest) => (request.params as { id: string }).id;

  app.get('/ServiceProviderConfig', async (_q, reply) => send(reply, 200, serviceProviderConfig(base)));
  app.get('/ResourceTypes', async (_q, reply) => {
    const list = resourceTypes(base);
    return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: list.length, startIndex: 1, itemsPerPage: list.length, Resources: list });
  });
  app.get('/ResourceTypes/:id', async (request, reply) => {
    const rt = resourceTypes(base).find((r) => r.id === id(request));
    if (!rt) throw notFound('resource type');
    return send(reply, 200, rt);
  });
  app.get('/Schemas', async (_q, reply) => {
    const list = schemas(base);
    return send(reply, 200, { schemas: [LIST_SCHEMA], totalResults: list.length, startIndex: 1, itemsPerPage: list.length, Resources: list });
  });
  app.get('/Schemas/:id', async (request, reply) => {
    const s = schemas(base).find((r) => r.id === id(request));
    if (!s) throw notFound('schema');
    return send(reply, 200, s);
  });

  app.get('/Users', async (request, reply) => send(reply, 200, await users.list(orgOf(request), listQuery(request), base)));
  app.post('/Users', async (request, reply) => {
    const u = await users.create(orgOf(request), body(request), base);
    return send(reply.header('location', (u.meta as { location: string }).location), 201, u);
  });
  app.get('/Users/:id', async (request, reply) => send(reply, 200, await users.get(orgOf(request), id(request), base)));
  app.put('/Users/:id', async (request, reply) => send(reply, 200, await users.replace(orgOf(request), id(request), body(request), base)));
  app.patch('/Users/:id', async (request, reply) => send(reply, 200, await users.patch(orgOf(request), id(request), body(request), base)));
  app.delete('/Users/:id', async (request, reply) => {
    await users.remove(orgOf(request), id(request));
    return reply.code(204).send();
  });

  app.get('/Groups', async (request, reply) => send(reply, 200, await groups.list(orgOf(request), listQuery(request), base)));
  app.post('/Groups', async (request, reply) => {
    const g = await groups.create(orgOf(request), body(request), base);
    return send(reply.header('location', (g.meta as { location: string }).location), 201, g);
  });
  app.get('/Groups/:id', async (request, reply) => send(reply, 200, await groups.get(orgOf(request), id(request), base, listQuery(request).withMembers)));
  app.put('/Groups/:id', async (request, reply) => send(reply, 200, await groups.replace(orgOf(request), id(request), body(request), base)));
  app.patch('/Groups/:id', async (request, reply) => {
    await groups.patch(orgOf(request), id(request), body(request), base, false);
    return reply.code(204).send();
  });
  app.delete('/Groups/:id', async (request, reply) => {
    await groups.remove(orgOf(request), id(request));
    return reply.code(204).send();
  });

  app.post('/Bulk', async () => {
    throw new ScimError(501, 'bulk operations are not supported (ServiceProviderConfig: bulk.supported = false)');
  });
}
