import { randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { readiness } from '../../src/app/readiness.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { createToken, TokenVerifier } from '../../src/auth/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/lib/logger.js';
import { auditSecrets } from '../support/log-audit.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { configFor, createTestStore, type TestStore } from '../support/store.js';

/**
 * Two organizations with a SCIM connector each (acme-scim, globex-scim), the HTTP app built as
 * `hrsync start` builds it, and a SCIM token per organization (plus an `api`-only one of acme's).
 */
export interface ScimHarness {
  store: TestStore;
  ctx: AppContext;
  app: FastifyInstance;
  tokens: { acme: string; globex: string; acmeApiOnly: string };
  call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown, token?: string | null, contentType?: string): Promise<LightMyRequestResponse & { json: any }>;
  close(): Promise<void>;
}

export async function startScim(opts: { deactivation?: { maxPercent?: number; maxCount?: number }; extraConnectors?: unknown[] } = {}): Promise<ScimHarness> {
  const store = await createTestStore();
  const prefix = testPrefix();
  const config = configFor(
    store.url,
    {
      organizations: [
        { id: 'acme', name: 'Acme', connectors: [{ id: 'acme-scim', type: 'scim', deactivation: opts.deactivation ?? { maxPercent: 100 } }, ...(opts.extraConnectors ?? [])] },
        { id: 'globex', name: 'Globex', connectors: [{ id: 'globex-scim', type: 'scim', deactivation: opts.deactivation ?? { maxPercent: 100 } }] },
      ],
    },
    { REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, APP_URL: 'http://hrsync.test' },
  );
  const ctx = await createContext({ config, log: silentLogger });
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  const app = await buildApp({
    config: ctx.config,
    log: ctx.log,
    em: ctx.em,
    sync: ctx.sync,
    rollouts: ctx.rollouts(),
    queues: ctx.queues(),
    enqueueSync: ctx.enqueueSync,
    tokens: new TokenVerifier(ctx.em, adminToken, 0),
    readiness: () => readiness(ctx.em, ctx.config.redisUrl),
  });
  const acme = (await createToken(ctx.em(), 'acme', 'entra', ['scim'])).token;
  const globex = (await createToken(ctx.em(), 'globex', 'okta', ['scim'])).token;
  const acmeApiOnly = (await createToken(ctx.em(), 'acme', 'api')).token;
  auditSecrets(adminToken, acme, globex, acmeApiOnly);
  return {
    store,
    ctx,
    app,
    tokens: { acme, globex, acmeApiOnly },
    async call(method, url, body, token = acme, contentType = 'application/scim+json') {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined;
      if (body !== undefined) {
        payload = typeof body === 'string' ? body : JSON.stringify(body);
        headers['content-type'] = contentType;
      }
      const res = await app.inject({ method, url, headers, payload });
      let json: unknown = null;
      try {
        json = res.body ? JSON.parse(res.body) : null;
      } catch {
        json = null;
      }
      return Object.assign(res, { json });
    },
    async close() {
      await app.close();
      await ctx.close();
      await deletePrefix(REDIS_URL, prefix).catch(() => {});
      await store.drop();
    },
  };
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
