/**
 * npm run bench:push — changes pushed to hrsync (issue 18), measured in one run:
 *   1. webhook event → change visible in the store: BENCH_EVENTS (1,000) BambooHR deliveries, each
 *      for another person whose record the fake vendor has just changed, at BENCH_EVENT_RATE (25/s);
 *      p50/p99 from the POST to the row seen changed (polled every 20 ms). Debounce: the default (500 ms).
 *   2. SCIM POST /Users and PATCH /Users/:id (replace title) with BENCH_CONNECTIONS (10) concurrent
 *      clients for BENCH_SECONDS (10) each, against an organization of BENCH_USERS (10,000) SCIM users,
 *      and the same against a bare fastify route answering the same JSON.
 * Everything runs in this one process (app, worker, bare route and load generator share the CPU),
 * on the real PostgreSQL and Redis. Issue target: webhook p99 ≤ 2 s; SCIM p99 ≤ 50 ms at 100k users
 * (this machine is shared: run it at 10k–20k here, larger where the machine is yours).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { startWebhookWorker } from '../jobs/webhooks/worker.js';
import { readiness } from '../src/app/readiness.js';
import { createContext } from '../src/app/context.js';
import { createToken, TokenVerifier } from '../src/auth/tokens.js';
import { buildApp } from '../src/http/app.js';
import { silentLogger } from '../src/lib/logger.js';
import { FakeBamboohr, generateBamboohrRows } from '../test/fakes/bamboohr-server.js';
import { deletePrefix, testPrefix } from '../test/support/redis.js';
import { configFor, createTestStore } from '../test/support/store.js';
import { loadLine, machineLine } from './lib/machine.js';

interface AutocannonResult { requests: { total: number; average: number }; latency: { p50: number; p99: number; average: number }; errors: number; non2xx: number; duration: number }
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => PromiseLike<AutocannonResult>;

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000);
const EVENT_RATE = Number(process.env.BENCH_EVENT_RATE ?? 25);
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const SECRET = `bench-${randomBytes(8).toString('hex')}`;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] : NaN;
};

async function main(): Promise<void> {
  const lines: string[] = [`# bench:push ${new Date().toISOString()}`, '', `machine: ${machineLine()}`, `load at start: ${loadLine()}`, ''];
  const log = (s: string) => {
    lines.push(s);
    process.stdout.write(`${s}\n`);
  };
  const store = await createTestStore();
  const prefix = testPrefix();
  const vendor = new FakeBamboohr({ companyDomain: 'bench', apiKey: 'bench-api-key-0123456789', rows: generateBamboohrRows(Math.ceil(EVENTS * 1.12) + 10) });
  const vendorUrl = await vendor.start();
  const config = configFor(
    store.url,
    {
      organizations: [
        {
          id: 'bench',
          name: 'Bench',
          connectors: [
            { id: 'bench-bamboo', type: 'bamboohr', options: { companyDomain: 'bench', apiKey: 'bench-api-key-0123456789', baseUrl: vendorUrl }, webhook: { secret: '${BENCH_HOOK}' } },
            { id: 'bench-scim', type: 'scim', deactivation: { maxPercent: 100 } },
          ],
        },
      ],
    },
    { REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, BENCH_HOOK: SECRET, APP_URL: 'http://bench.local' },
  );
  const ctx = await createContext({ config, log: silentLogger });
  const app = await buildApp({ config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync, enqueueWebhookEvents: ctx.enqueueWebhookEvents, tokens: new TokenVerifier(ctx.em, null), readiness: () => readiness(ctx.em, REDIS_URL) });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const worker = startWebhookWorker(ctx);
  try {
    // --- 1. webhook → visible ---------------------------------------------------------------------
    const full = await ctx.sync.run({ connectorId: 'bench-bamboo' });
    vendor.resetCounters();
    log(`## Webhook event → change visible (${EVENTS} events at ${EVENT_RATE}/s, ${full.counts.created} BambooHR employees, debounce 500 ms)`);
    const active = vendor.rows.filter((r) => r.fields.status === 'Active').slice(0, EVENTS);
    const sent = new Map<string, number>();
    const seen = new Map<string, number>();
    let polling = true;
    let deadline = Infinity;
    const poller = (async () => {
      while (polling || seen.size < sent.size) {
        const pending = [...sent.keys()].filter((k) => !seen.has(k));
        if (pending.length) {
          const rows = await store.query<{ external_id: string }>(`select external_id from users where connector_id = 'bench-bamboo' and external_id = any($1) and last_name like 'Bench-%'`, [pending]);
          const now = performance.now();
          for (const r of rows) if (!seen.has(r.external_id)) seen.set(r.external_id, now);
        }
        if (!polling && Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const t0 = Date.now();
    for (let i = 0; i < active.length; i++) {
      const target = t0 + (i * 1000) / EVENT_RATE;
      if (Date.now() < target) await new Promise((r) => setTimeout(r, target - Date.now()));
      const row = active[i].fields;
      row.lastName = `Bench-${i}`;
      const raw = JSON.stringify({ employees: [{ id: row.eeid, action: 'Updated', changedFields: ['lastName'] }] });
      const ts = String(Math.floor(Date.now() / 1000));
      const sig = createHmac('sha256', SECRET).update(raw).update(ts).digest('hex');
      const at = performance.now();
      const res = await fetch(`${base}/hooks/bench-bamboo`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-bamboohr-timestamp': ts, 'x-bamboohr-signature': sig }, body: raw });
      if (res.status !== 202) throw new Error(`webhook answered ${res.status}`);
      sent.set(String(row.eeid), at);
    }
    polling = false;
    deadline = Date.now() + 60_000;
    await poller;
    const lat = [...sent].filter(([k]) => seen.has(k)).map(([k, at]) => seen.get(k)! - at);
    log(`visible: ${lat.length}/${sent.size}; p50 ${pct(lat, 50).toFixed(0)} ms, p99 ${pct(lat, 99).toFixed(0)} ms, max ${Math.max(...lat).toFixed(0)} ms (goal p99 ≤ 2,000 ms)`);
    log(`look-ups by id at the fake BambooHR: ${vendor.count} requests for ${sent.size} events`);
    log('');

    // --- 2. SCIM throughput -------------------------------------------------------------------------
    await store.query(
      `insert into users (organization_id, connector_id, source, email, external_id, first_name, last_name, attributes, status, access, content_hash)
       select 'bench', 'bench-scim', 'sync', 'seed' || g || '@bench.example', 'seed-' || g, 'F' || g, 'L' || g,
              jsonb_build_object('scimUserName', 'seed' || g || '@bench.example', 'scimExternalId', 'x' || g), 'active', 'none', 'seed'
         from generate_series(1, $1::int) g`,
      [USERS],
    );
    await store.query('analyze users');
    const token = (await createToken(ctx.em(), 'bench', 'bench', ['scim'])).token;
    const ids = (await store.query<{ id: string }>(`select id from users where connector_id = 'bench-scim' order by seq`)).map((r) => r.id);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
    let n = 0;
    const postBody = () => {
      const k = `${Date.now().toString(36)}-${n++}`;
      return JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `new-${k}@bench.example`, externalId: `n-${k}`, active: true, name: { givenName: 'New', familyName: k }, emails: [{ primary: true, type: 'work', value: `new-${k}@bench.example` }] });
    };
    const patchBody = () => JSON.stringify({ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: `Title ${n++}` }] });
    const sample = await (await fetch(`${base}/scim/v2/Users`, { method: 'POST', headers, body: postBody() })).json();

    const bare = Fastify({ logger: false });
    bare.addContentTypeParser('application/scim+json', { parseAs: 'string' }, (_r, b, done) => done(null, JSON.parse(String(b))));
    bare.post('/bare/Users', async (_q, reply) => reply.code(201).type('application/scim+json').send(JSON.stringify(sample)));
    bare.patch('/bare/Users/:id', async (_q, reply) => reply.code(200).type('application/scim+json').send(JSON.stringify(sample)));
    const bareBase = await bare.listen({ port: 0, host: '127.0.0.1' });

    log(`## SCIM with ${CONNECTIONS} concurrent clients, ${SECONDS} s each, organization of ${USERS.toLocaleString('en')} SCIM users`);
    log('| route | target | requests/s | p50 ms | p99 ms | errors/non-2xx |');
    log('|---|---|---|---|---|---|');
    const run = async (label: string, target: string, url: string, method: 'POST' | 'PATCH', body: () => string, path: () => string) => {
      const r = await autocannon({
        url, connections: CONNECTIONS, duration: SECONDS,
        requests: [{ method, headers, setupRequest: (req: Record<string, unknown>) => ({ ...req, path: path(), body: body() }) }],
      });
      log(`| ${label} | ${target} | ${r.requests.average.toFixed(0)} | ${r.latency.p50} | ${r.latency.p99} | ${r.errors}/${r.non2xx} |`);
    };
    let k = 0;
    await run('POST /Users', 'hrsync', base, 'POST', postBody, () => '/scim/v2/Users');
    await run('POST /Users', 'bare fastify', bareBase, 'POST', postBody, () => '/bare/Users');
    await run('PATCH /Users/:id', 'hrsync', base, 'PATCH', patchBody, () => `/scim/v2/Users/${ids[k++ % ids.length]}`);
    await run('PATCH /Users/:id', 'bare fastify', bareBase, 'PATCH', patchBody, () => `/bare/Users/${ids[k++ % ids.length]}`);
    const runs = await store.query<{ n: number }>(`select count(*)::int as n from sync_runs where trigger = 'scim'`);
    log('');
    log(`SCIM runs recorded: ${runs[0].n}; load at end: ${loadLine()}`);
    await bare.close();
  } finally {
    await worker.close();
    await app.close();
    await ctx.close();
    await vendor.stop();
    await deletePrefix(REDIS_URL, prefix).catch(() => {});
    await store.drop();
  }
  const out = join(ROOT, 'bench', 'results', `push-${new Date().toISOString().slice(0, 10)}.md`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${lines.join('\n')}\n`);
  process.stdout.write(`written to ${out}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
