import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readiness } from '../../src/app/readiness.js';
import { TokenVerifier } from '../../src/auth/tokens.js';
import { loadConfig } from '../../src/config/load.js';
import { buildApp } from '../../src/http/app.js';
import { errorBody, startHttpService, type HttpService } from '../support/http.js';
import { auditSecrets } from '../support/log-audit.js';
import { employee } from '../support/store.js';

/**
 * /metrics is not open to the world: behind a bearer token (METRICS_TOKEN, or the admin
 * token), or on an internal port of its own (METRICS_PORT) and absent from the API's. The
 * domain figures (table counts) are read on a timer: a scrape never counts a table.
 */
let h: HttpService;
const METRICS_TOKEN = `metrics-${'m'.repeat(40)}`;

beforeAll(async () => {
  auditSecrets(METRICS_TOKEN);
  h = await startHttpService({ workers: false, env: { METRICS_TOKEN, METRICS_REFRESH_SECONDS: '3600' } });
  await h.svc.sync([employee(1), employee(2)]);
});
afterAll(async () => {
  await h?.close();
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('/metrics on the API port', () => {
  it('refuses a scrape without a token, with an organization token or a wrong one', async () => {
    for (const token of [null, h.tokens.acme.token, `${METRICS_TOKEN}x`, 'Basic']) {
      const res = await h.call('GET', '/metrics', { token });
      expect(res.statusCode, String(token).slice(0, 12)).toBe(401);
      expect(errorBody(res).code).toBe('unauthorized');
      expect(res.body).not.toContain('hrsync_');
    }
  });

  it('serves METRICS_TOKEN and the admin token', async () => {
    for (const token of [METRICS_TOKEN, h.adminToken]) {
      const res = await h.call('GET', '/metrics', { token });
      expect(res.statusCode).toBe(200);
      expect(res.body).toMatch(/^hrsync_sync_runs\{status="succeeded"\} 1$/m);
    }
  });

  it('reads the domain figures on its timer, not per scrape: new rows show only after the next refresh', async () => {
    const first = await h.call('GET', '/metrics', { token: METRICS_TOKEN });
    const refreshed = /^hrsync_metrics_refreshed_seconds (\S+)$/m.exec(first.body)![1];
    await h.svc.sync([employee(1), employee(2), employee(3)]); // a second succeeded run
    for (let i = 0; i < 20; i++) {
      const res = await h.call('GET', '/metrics', { token: METRICS_TOKEN });
      expect(res.body).toMatch(/^hrsync_sync_runs\{status="succeeded"\} 1$/m);
      expect(/^hrsync_metrics_refreshed_seconds (\S+)$/m.exec(res.body)![1]).toBe(refreshed);
    }
  });
});

describe('/metrics on METRICS_PORT', () => {
  it('serves the metrics there (open, for the cluster inside) and not on the API port', async () => {
    const port = await freePort();
    const ctx = h.svc.ctx;
    const config = loadConfig({ ...h.svc.env, HRSYNC_CONFIG: ctx.config.source, METRICS_PORT: String(port), METRICS_TOKEN: '' });
    const app = await buildApp({
      config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync,
      tokens: new TokenVerifier(ctx.em, config.adminToken, 0), readiness: () => readiness(ctx.em, config.redisUrl),
    });
    try {
      const api = await app.listen({ port: 0, host: '127.0.0.1' });
      const onApi = await fetch(`${api}/metrics`, { headers: { authorization: `Bearer ${h.adminToken}` } });
      expect(onApi.status).toBe(404);
      const internal = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(internal.status).toBe(200);
      expect(internal.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await internal.text()).toMatch(/^hrsync_sync_runs\{status="succeeded"\} 2$/m);
      // the internal port serves nothing else
      expect((await fetch(`http://127.0.0.1:${port}/api/users`, { headers: { authorization: `Bearer ${h.adminToken}` } })).status).toBe(404);
    } finally {
      await app.close();
    }
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});
