import { get } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readiness } from '../../src/app/readiness.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { createToken, TokenVerifier } from '../../src/auth/tokens.js';
import { buildApp } from '../../src/http/app.js';
import { silentLogger } from '../../src/lib/logger.js';
import { pruneHistory } from '../../src/history/prune-history.js';
import { auditSecrets } from '../support/log-audit.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { configFor, createTestStore, type TestStore } from '../support/store.js';

/** GET /api/history/export streams keyset pages to the client: 100k events without holding them. */
const ADMIN = 'admin-token-export-0123456789abcdef';
auditSecrets(ADMIN);
const N = 100_000;
// A full collection before each sample, so that the heap measured is what is alive, not garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const liveHeap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
let store: TestStore;
let ctx: AppContext;
let app: FastifyInstance;
let base: string;
let otherToken: string;
const prefix = testPrefix();

beforeAll(async () => {
  store = await createTestStore();
  const config = configFor(store.url, { organizations: [{ id: 'acme', name: 'Acme', connectors: [] }, { id: 'other', name: 'Other', connectors: [] }] }, { HRSYNC_ADMIN_TOKEN: ADMIN, REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix });
  ctx = await createContext({ config, log: silentLogger });
  app = await buildApp({ config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync, enqueueWebhookEvents: ctx.enqueueWebhookEvents, tokens: new TokenVerifier(ctx.em, config.adminToken, 0), readiness: () => readiness(ctx.em, config.redisUrl) });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
  otherToken = (await createToken(ctx.em(), 'other', 'test')).token;
  auditSecrets(otherToken);
  // 100k events of one organization over 100 days (about 500 bytes each), and a few of another
  await store.query(
    `insert into user_events (organization_id, user_id, at, kind, actor_type, actor_id, data)
     select 'acme', gen_random_uuid(), timestamptz '2026-01-01' + (g * interval '86 seconds'), 'updated', 'run', 'r' || (g / 1000),
            jsonb_build_object('changes', jsonb_build_object('jobTitle', jsonb_build_array(repeat('a', 200), 'x,"y"' || g)))
       from generate_series(1, $1::int) g`,
    [N],
  );
  await store.query(`insert into user_events (organization_id, user_id, at, kind, actor_type) select 'other', gen_random_uuid(), timestamptz '2026-02-01', 'created', 'run' from generate_series(1, 5)`);
}, 120_000);
afterAll(async () => {
  await app?.close();
  await ctx?.close();
  await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
});

function fetchStream(path: string, token: string, onChunk: (c: Buffer) => void): Promise<{ status: number; type: string }> {
  return new Promise((resolve, reject) => {
    get(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', onChunk);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']) }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('GET /api/history/export', () => {
  it('streams 100k events as CSV, the process growing far less than the export', async () => {
    const heap0 = liveHeap();
    let peak = heap0;
    let chunks = 0;
    let bytes = 0;
    let lines = 0;
    let tail = '';
    let lastId = 0;
    let ordered = true;
    const t0 = performance.now();
    const r = await fetchStream(`/api/history/export?organizationId=acme&from=2025-12-01T00:00:00Z&to=2027-01-01T00:00:00Z&format=csv`, ADMIN, (c) => {
      bytes += c.length;
      const text = tail + c.toString('utf8');
      const parts = text.split('\r\n');
      tail = parts.pop()!;
      for (const p of parts) {
        lines++;
        if (lines === 1) continue;
        const id = Number(p.slice(0, p.indexOf(',')));
        if (id <= lastId) ordered = false;
        lastId = id;
      }
      if (++chunks % 25 === 0) peak = Math.max(peak, liveHeap());
    });
    const ms = performance.now() - t0;
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/text\/csv/);
    expect(lines).toBe(N + 1);
    expect(ordered).toBe(true);
    expect(bytes).toBeGreaterThan(30 * 1024 * 1024);
    // One page (2,000 events, ~1 MB) in flight at a time: the live heap grows by a few pages at most,
    // where holding the export (34 MB of text, more as rows) would grow it by far more.
    expect(chunks).toBeGreaterThan(25);
    expect(peak - heap0).toBeLessThan(12 * 1024 * 1024);
    console.log(`export: ${N} events, ${(bytes / 1048576).toFixed(1)} MB in ${(ms / 1000).toFixed(1)} s (${Math.round(N / (ms / 1000))} events/s), live heap growth ${((peak - heap0) / 1048576).toFixed(1)} MB`);
  }, 120_000);

  it('JSON for a time range; an organization token exports only its own; bad ranges are 400', async () => {
    let body = '';
    const r = await fetchStream(`/api/history/export?from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&format=json`, otherToken, (c) => (body += c));
    expect(r.status).toBe(200);
    const events = JSON.parse(body);
    expect(events).toHaveLength(5);
    expect(events[0]).toMatchObject({ kind: 'created', actor: { type: 'run', id: null } });
    const wrongOrg = await app.inject({ method: 'GET', url: '/api/history/export?organizationId=acme&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z', headers: { authorization: `Bearer ${otherToken}` } });
    expect(wrongOrg.statusCode).toBe(404);
    const backwards = await app.inject({ method: 'GET', url: '/api/history/export?organizationId=acme&from=2026-03-01T00:00:00Z&to=2026-01-01T00:00:00Z', headers: { authorization: `Bearer ${ADMIN}` } });
    expect(backwards.statusCode).toBe(400);
  });

  it('the retention job deletes events older than the retention only (in slices)', async () => {
    await store.query(`insert into user_events (organization_id, user_id, at, kind, actor_type) select 'other', gen_random_uuid(), now() - interval '401 days', 'created', 'run' from generate_series(1, 25)`);
    await store.query(`insert into user_events (organization_id, user_id, at, kind, actor_type) select 'other', gen_random_uuid(), now() - interval '399 days', 'created', 'run' from generate_series(1, 3)`);
    const before = Number((await store.query<{ n: string }>(`select count(*) as n from user_events`))[0].n);
    expect(await pruneHistory(ctx.em(), 400, { slice: 10 })).toBe(25);
    const left = await store.query<{ at: Date }>(`select at from user_events`);
    expect(left.length).toBe(before - 25);
    expect(left.every((r) => new Date(r.at).getTime() > Date.now() - 400 * 86_400_000)).toBe(true);
  });
});
