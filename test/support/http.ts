import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { readiness } from '../../src/app/readiness.js';
import { createToken, TokenVerifier } from '../../src/auth/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { auditSecrets } from './log-audit.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';
import { startTestService, type TestService } from './service.js';

/**
 * The HTTP app built the way `hrsync start` builds it (src/cli/start.ts), over a test
 * service with two organizations (acme, globex), running workers and a real SMTP sink.
 * Requests go through `app.inject()`.
 */
export interface HttpService {
  svc: TestService;
  sink: SmtpSink;
  app: FastifyInstance;
  adminToken: string;
  /** One organization token each, created through src/auth/tokens.ts. */
  tokens: { acme: { token: string; id: string }; globex: { token: string; id: string } };
  /** A second app over the same context (e.g. one built with another environment). */
  buildApp(): Promise<FastifyInstance>;
  call(method: InjectOptions['method'], url: string, opts?: CallOptions): Promise<LightMyRequestResponse>;
  /** Every row of users, rollouts, invitations and sync runs (with rejections and deactivations), as text. */
  snapshot(): Promise<string>;
  close(): Promise<void>;
}

export interface CallOptions {
  /** bearer token; `null` for none */
  token?: string | null;
  body?: unknown;
  /** the body as is (string or Buffer), with `contentType` */
  raw?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  app?: FastifyInstance;
}

export async function startHttpService(opts: { env?: Record<string, string>; workers?: boolean } = {}): Promise<HttpService> {
  const sink = await startSmtpSink();
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  const svc = await startTestService({ smtpUrl: sink.url, extraOrg: true, workers: opts.workers, env: { HRSYNC_ADMIN_TOKEN: adminToken, ...opts.env } });
  const ctx = svc.ctx;
  const build = () =>
    buildApp({
      config: ctx.config,
      log: ctx.log,
      em: ctx.em,
      sync: ctx.sync,
      rollouts: svc.workers?.rollouts ?? ctx.rollouts(),
      rules: svc.workers?.rules ?? ctx.rules(),
      queues: ctx.queues(),
      enqueueSync: ctx.enqueueSync,
      enqueueWebhookEvents: ctx.enqueueWebhookEvents,
      tokens: new TokenVerifier(ctx.em, ctx.config.adminToken, 0),
      readiness: () => readiness(ctx.em, ctx.config.redisUrl),
    });
  const app = await build();
  const apps: FastifyInstance[] = [app];
  const acme = await createToken(ctx.em(), 'acme', 'test');
  const globex = await createToken(ctx.em(), 'globex', 'test');
  auditSecrets(adminToken, acme.token, globex.token);
  const service: HttpService = {
    svc,
    sink,
    app,
    adminToken,
    tokens: { acme: { token: acme.token, id: acme.record.id }, globex: { token: globex.token, id: globex.record.id } },
    async buildApp() {
      const a = await build();
      apps.push(a);
      return a;
    },
    async call(method, url, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      const token = o.token === undefined ? adminToken : o.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let payload: string | Buffer | undefined;
      if (o.raw !== undefined) {
        payload = o.raw;
        headers['content-type'] = o.contentType ?? 'application/json';
      } else if (o.body !== undefined) {
        payload = JSON.stringify(o.body);
        headers['content-type'] = o.contentType ?? 'application/json';
      }
      return (o.app ?? app).inject({ method, url, headers, payload });
    },
    async snapshot() {
      const q = (text: string) => svc.store.query(text);
      const parts = await Promise.all([
        q(`select * from users order by id`),
        q(`select * from group_memberships order by user_id, group_id`),
        q(`select * from rollouts order by id`),
        q(`select * from invitations order by id`),
        q(`select * from sync_runs order by id`),
        q(`select * from sync_run_rejections order by id`),
        q(`select * from sync_run_deactivations order by 1, 2`),
      ]);
      return JSON.stringify(parts);
    },
    async close() {
      for (const a of apps) await a.close();
      await svc.close();
      await sink.close();
    },
  };
  return service;
}

/** `{ error: { code, message } }` and nothing else. */
export function errorBody(res: LightMyRequestResponse): { code: string; message: string } {
  const body = JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } };
  if (!body || typeof body !== 'object' || Object.keys(body).join() !== 'error') throw new Error(`not an error body: ${res.body.slice(0, 300)}`);
  const e = body.error!;
  if (typeof e.code !== 'string' || typeof e.message !== 'string' || Object.keys(e).sort().join() !== 'code,message') throw new Error(`not an error body: ${res.body.slice(0, 300)}`);
  return e as { code: string; message: string };
}

export interface RouteInfo {
  method: string;
  url: string;
}

/**
 * Every method and path the app serves, read from the tree `app.printRoutes()` prints
 * (`├── /api/users (GET, HEAD, POST)` with `│   └── /:id (GET, HEAD, PATCH)` under it).
 */
export function routesOf(app: FastifyInstance): RouteInfo[] {
  const out: RouteInfo[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const at = line.search(/[├└]── /);
    if (at < 0) continue;
    const depth = at / 4;
    const m = /^(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line.slice(at + 4))!;
    const path = (depth > 0 ? stack[depth - 1] : '') + m[1];
    stack[depth] = path;
    stack.length = depth + 1;
    if (m[2]) for (const method of m[2].split(',').map((x) => x.trim())) out.push({ method, url: path });
  }
  return out;
}

/** A path with its `:params` filled in. */
export function fill(url: string, params: Record<string, string>): string {
  return url.replace(/:(\w+)/g, (_, k: string) => params[k] ?? '00000000-0000-4000-8000-000000000000');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
