import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorBody, routesOf, sleep, startHttpService, type HttpService } from '../support/http.js';
import { employee } from '../support/store.js';

/** What operators and client generators read without a token: OpenAPI, health, readiness; metrics with one. */
let h: HttpService;

beforeAll(async () => {
  h = await startHttpService({ workers: false, env: { METRICS_REFRESH_SECONDS: '1' } });
  await h.svc.sync([employee(1), employee(2), employee(3, { email: 'nope' })]);
});
afterAll(async () => {
  await h?.close();
});

describe('operations endpoints', () => {
  it('serves /api/openapi.json without a token, listing every /api route with its method', async () => {
    const res = await h.call('GET', '/api/openapi.json', { token: null });
    expect(res.statusCode).toBe(200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { security?: unknown[] }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`));
    const served = routesOf(h.app)
      .filter((r) => r.url.startsWith('/api/') && r.method !== 'HEAD' && r.url !== '/api/openapi.json')
      .map((r) => `${r.method} ${r.url}`);
    expect(documented.sort()).toEqual(served.sort());
    // every route but accepting an invitation says it needs the bearer token
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [m, op] of Object.entries(ops)) expect(Boolean(op.security?.length), `${m} ${path}`).toBe(path !== '/api/invitations/accept');
    }
  });

  it('answers /healthz and /readyz without a token, ready with PostgreSQL and Redis both ok', async () => {
    const health = await h.call('GET', '/healthz', { token: null });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await h.call('GET', '/readyz', { token: null });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok', redis: 'ok' } });
  });

  it('leads /admin to the dashboard, which asks to sign in, while /admin/queues stays Bull Board behind the admin token', async () => {
    for (const url of ['/admin', '/admin/']) {
      const res = await h.call('GET', url, { token: null });
      expect(res.statusCode, url).toBe(303);
      expect(res.headers.location).toBe('/dashboard');
    }
    const dash = await h.call('GET', '/dashboard', { token: null });
    expect(dash.statusCode).toBe(303);
    expect(String(dash.headers.location)).toMatch(/^\/dashboard\/sign-in/);
    expect((await h.call('GET', '/admin/queues', { token: null })).statusCode).toBe(401);
  });

  it('serves Prometheus text on /metrics with sync, invitation, queue, HTTP latency and run-duration series', async () => {
    await h.call('GET', '/api/users', { token: h.tokens.acme.token });
    const r = await h.svc.ctx.rollouts().create('acme', { filter: { status: 'active' }, loginMethod: 'password' });
    await h.svc.ctx.rollouts().fire(r.id); // no workers here: the invitations stay pending
    const open = await h.call('GET', '/metrics', { token: null });
    expect(open.statusCode).toBe(401);
    expect(errorBody(open).code).toBe('unauthorized');
    expect((await h.call('GET', '/metrics', { token: h.tokens.acme.token })).statusCode).toBe(401);
    // the domain figures are read on a timer (here every second), not per scrape
    let res = await h.call('GET', '/metrics', { token: h.adminToken });
    for (let i = 0; i < 50 && !/^hrsync_invitations\{state="pending"\} 2$/m.test(res.body); i++) {
      await sleep(100);
      res = await h.call('GET', '/metrics', { token: h.adminToken });
    }
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    const text = res.body;
    for (const name of ['hrsync_sync_runs', 'hrsync_invitations', 'hrsync_queue_jobs', 'hrsync_http_request_duration_seconds', 'hrsync_sync_run_duration_seconds_bucket']) {
      expect(text, name).toMatch(new RegExp(`^${name}`, 'm'));
    }
    for (const name of ['hrsync_sync_runs', 'hrsync_invitations', 'hrsync_queue_jobs', 'hrsync_http_request_duration_seconds', 'hrsync_sync_run_duration_seconds']) {
      expect(text).toMatch(new RegExp(`^# TYPE ${name} (gauge|histogram)$`, 'm'));
    }
    expect(text).toMatch(/^hrsync_sync_runs\{status="succeeded"\} 1$/m);
    expect(text).toMatch(/^hrsync_sync_run_duration_seconds_bucket\{le="\+Inf"\} 1$/m);
    expect(text).toMatch(/^hrsync_sync_run_duration_seconds_count 1$/m);
    expect(text).toMatch(/^hrsync_invitations\{state="pending"\} 2$/m);
    expect(text).toMatch(/^hrsync_queue_jobs\{queue="sync",state="waiting"\} \d+$/m);
    expect(text).toMatch(/^hrsync_http_request_duration_seconds_count\{route="\/api\/users",method="GET",status="200"\} [1-9]\d*$/m);
    // every sample line is `name{labels} value`
    for (const line of text.split('\n')) if (line && !line.startsWith('#')) expect(line).toMatch(/^[a-zA-Z_:][\w:]*(\{[^}]*\})? -?[\d.e+-]+|NaN|[+-]Inf$/);
  });
});
