/**
 * HTTP API benchmark: `npm run bench:api`.
 *
 * With 100,000 users bulk-inserted by SQL into a dedicated database (hrsync_bench_api_<ts>,
 * dropped at the end), it starts the service as a separate process the way an operator does
 * (`node --import tsx src/cli/run.ts start --role api`, HRSYNC_ADMIN_TOKEN set) and, in a third
 * process, a bare fastify server answering the same JSON from memory. This process is the load
 * generator (autocannon) on 127.0.0.1. Measured, in the same run:
 *   - GET /api/users?limit=100 (admin token; pages spread over the 100,000 users by cursor);
 *   - POST /api/rollouts (a small filter rollout with sendAt a year ahead: nothing is sent);
 * each at a fixed 200 requests/s (BENCH_RATE) for BENCH_SECONDS (default 20), then unthrottled
 * for half that, and the same against the bare route. Target: p99 of the list route ≤ 50 ms at
 * 200 requests/s. Results are printed and written to bench/results/api-<date>.md.
 *
 * Env: BENCH_USERS (100000), BENCH_RATE (200), BENCH_SECONDS (20), BENCH_CONNECTIONS (16, unthrottled runs),
 * BENCH_RATE_INSTANCES (fixed-rate connections; default one per request/s), BENCH_ROUTES (list,rollouts),
 * BENCH_DATABASE_ADMIN_URL / TEST_DATABASE_ADMIN_URL, REDIS_URL; BENCH_CPU_PROF=<dir> writes a V8 CPU
 * profile of the server (node --cpu-prof) there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import pg from 'pg';
import { stringify } from 'yaml';

/** autocannon ships no types: the part of its API used here. */
interface AutocannonResult {
  duration: number;
  requests: { total: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}
type AutocannonInstance = PromiseLike<AutocannonResult> & {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
};
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: Record<string, unknown>) => AutocannonInstance;

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const RATE_INSTANCES = process.env.BENCH_RATE_INSTANCES ? Number(process.env.BENCH_RATE_INSTANCES) : undefined;
const ONLY = process.env.BENCH_ROUTES?.split(',').map((s) => s.trim()); // list, rollouts
const TARGET_P99_MS = 50;
const ORG = 'bench';

// --- the bare route: same JSON, from memory, in a process of its own ---------------------------------
if (process.argv[2] === '--bare') {
  const [port, dir] = [Number(process.argv[3]), process.argv[4]];
  const page = JSON.parse(readFileSync(join(dir, 'users-page.json'), 'utf8')) as unknown;
  const rollout = JSON.parse(readFileSync(join(dir, 'rollout.json'), 'utf8')) as unknown;
  const app = Fastify({ logger: false });
  // objects, not strings: fastify serializes them, as it does for the real routes
  app.get('/bare/users', async () => page);
  app.post('/bare/rollouts', async (_req, reply) => reply.code(202).send(rollout));
  await app.listen({ port, host: '127.0.0.1' });
  process.stdout.write('ready\n');
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} else {
  await main();
}

// --- the machine ---------------------------------------------------------------------------------
function machineLine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) model = m[1].trim();
  } catch {
    /* not Linux */
  }
  return `nproc ${cpus().length}, CPU ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${process.platform}/${process.arch}`;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

// --- the store: 100,000 users by SQL ---------------------------------------------------------------
async function fillStore(databaseUrl: string, configPath: string, dir: string): Promise<void> {
  // Migrations and the organization/connector rows come from the app's own code.
  const { openStore } = await import('../src/db/orm.js');
  const { syncConfigToStore } = await import('../src/db/config-store.js');
  const { loadConfig } = await import('../src/config/load.js');
  const orm = await openStore(databaseUrl);
  try {
    await syncConfigToStore(orm.em.fork() as never, loadConfig({ HRSYNC_CONFIG: configPath, DATABASE_URL: databaseUrl, LOG_LEVEL: 'silent' }, dir));
  } finally {
    await orm.close(true);
  }
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(`insert into locations (organization_id, name) select $1, 'Location ' || g from generate_series(1, 32) g`, [ORG]);
    await db.query(`insert into groups (organization_id, name) select $1, 'Group ' || g from generate_series(1, 32) g`, [ORG]);
    await db.query(
      `insert into users (organization_id, email, external_id, connector_id, source, first_name, last_name, job_title, location_id, start_date, content_hash)
       select $1, 'person' || i || '@bench.example', 'E' || lpad(i::text, 7, '0'), 'bench-hr', 'sync', 'First' || (i % 97), 'Last' || (i % 89),
              'Engineer', l.id, date '2015-01-01' + (i % 3000), md5(i::text)
         from generate_series(1, $2::int) i join locations l on l.organization_id = $1 and l.name = 'Location ' || (1 + i % 32)
        order by i`,
      [ORG, USERS],
    );
    await db.query(`insert into group_memberships (user_id, group_id, source) select u.id, g.id, 'sync' from users u join groups g on g.organization_id = $1 and g.name = 'Group ' || (1 + u.seq % 32)`, [ORG]);
    await db.query(`update users u set manager_id = m.id from users m where u.seq > 1 and m.seq = (u.seq - 2) / 8 + 1`);
    await db.query(`vacuum analyze`);
  } finally {
    await db.end();
  }
}

// --- processes -----------------------------------------------------------------------------------
function startChild(args: string[], env: Record<string, string>, ready: (line: string) => boolean, label: string): Promise<ChildProcess> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => rej(new Error(`${label} did not start within 60 s:\n${out.slice(-2000)}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').some(ready)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        res(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`${label} exited (${code}) before it was ready:\n${out.slice(-2000)}`));
    });
  });
}

async function stopChild(child: ChildProcess | null): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });
}

// --- load ---------------------------------------------------------------------------------------------
interface Load {
  route: string;
  target: 'hrsync' | 'bare';
  mode: string;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  requests: number;
  /** CPU used by the server process under test and by this (load) process, in % of one core */
  serverCpu: number;
  loadCpu: number;
}

/** CPU time (user + system) a process has used, in ms, from /proc (0 where there is none). */
function procCpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ 100)
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * One load run; latencies are taken per response (sub-millisecond resolution).
 *
 * Unthrottled: one autocannon instance with `connections` connections (a closed loop: capacity).
 * At a fixed rate: autocannon's own rate limit lets each connection fire its per-second quota
 * back to back at the start of each second — a burst of `rate` requests, not `rate` requests
 * per second. So the fixed rate is made of `rate` single-connection instances at 1 request/s
 * each, started 1000/rate ms apart: one request every 5 ms at 200/s, evenly spaced.
 */
async function load(opts: { url: string; method: 'GET' | 'POST'; headers: Record<string, string>; paths?: string[]; body?: string; rate?: number; seconds: number; connections: number; pid?: number }): Promise<Omit<Load, 'route' | 'target' | 'mode'>> {
  const lat: number[] = [];
  const cpu0 = { server: procCpuMs(opts.pid), self: process.cpuUsage(), at: Date.now() };
  let i = 0;
  const run = (extra: Record<string, unknown>) => {
    const instance = autocannon({
      url: opts.url,
      method: opts.method,
      headers: opts.headers,
      body: opts.body,
      duration: opts.seconds,
      timeout: 10,
      requests: opts.paths ? [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, path: opts.paths![i++ % opts.paths!.length] }) }] : undefined,
      ...extra,
    });
    instance.on('response', (_client, _status, _bytes, ms) => lat.push(ms));
    return instance;
  };
  const started = Date.now();
  let results: AutocannonResult[];
  if (!opts.rate) {
    results = [await run({ connections: opts.connections })];
  } else {
    // RATE_INSTANCES single-connection instances (default: one per request/s), evenly staggered
    const n = Math.max(1, Math.min(Math.round(opts.rate), RATE_INSTANCES ?? Math.round(opts.rate)));
    const instances: AutocannonInstance[] = [];
    for (let k = 0; k < n; k++) {
      instances.push(run({ connections: 1, connectionRate: Math.round(opts.rate / n) }));
      await new Promise((r) => setTimeout(r, 1000 / n));
    }
    results = await Promise.all(instances);
  }
  const seconds = opts.rate ? opts.seconds : (Date.now() - started) / 1000;
  const wall = Date.now() - cpu0.at;
  const self = process.cpuUsage(cpu0.self);
  lat.sort((a, b) => a - b);
  const total = results.reduce((a, r) => a + r.requests.total, 0);
  return {
    rps: total / seconds,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    max: lat[lat.length - 1] ?? NaN,
    errors: results.reduce((a, r) => a + r.errors + r.timeouts + r.non2xx, 0),
    requests: total,
    serverCpu: (100 * (procCpuMs(opts.pid) - cpu0.server)) / wall,
    loadCpu: (100 * (self.user + self.system)) / 1000 / wall,
  };
}

// --- the run ------------------------------------------------------------------------------------------
async function main(): Promise<void> {
  const started = new Date();
  const machine = machineLine();
  console.log(`hrsync API bench — ${started.toISOString()}\nmachine: ${machine}\nusers: ${USERS.toLocaleString('en')}, rate: ${RATE}/s, ${SECONDS} s per fixed-rate run, ${CONNECTIONS} connections unthrottled\n`);

  const ts = Date.now();
  const dbName = `hrsync_bench_api_${ts}`;
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const prefix = `{hrsync-bench-api-${ts}}`;
  const dir = mkdtempSync(join(tmpdir(), 'hrsync-bench-api-'));
  const adminToken = randomBytes(24).toString('base64url');
  let server: ChildProcess | null = null;
  let bare: ChildProcess | null = null;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await stopChild(server);
    await stopChild(bare);
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
    const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
    r.disconnect();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    process.stderr.write('\ninterrupted: stopping the servers, dropping the bench database\n');
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const rows: Load[] = [];
  const notes: string[] = [];
  let pgVersion = '';
  try {
    const configPath = join(dir, 'hrsync.config.yaml');
    writeFileSync(join(dir, 'employees.csv'), 'employeeId,email,firstName,lastName,jobTitle,department,location,managerId,status,startDate,endDate\n');
    writeFileSync(configPath, stringify({ organizations: [{ id: ORG, name: 'Bench Corp', connectors: [{ id: 'bench-hr', type: 'file', options: { path: join(dir, 'employees.csv') } }] }] }));
    let t0 = Date.now();
    await fillStore(databaseUrl, configPath, dir);
    console.log(`store: ${USERS.toLocaleString('en')} users inserted in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const c = new pg.Client({ connectionString: databaseUrl });
    await c.connect();
    pgVersion = (await c.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0].v;
    await c.end();

    const port = await freePort();
    t0 = Date.now();
    server = await startChild(
      [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_CPU_PROF)}`] : []), '--import', 'tsx', 'src/cli/run.ts', 'start', '--role', 'api'],
      { DATABASE_URL: databaseUrl, REDIS_URL, HRSYNC_CONFIG: configPath, HRSYNC_ADMIN_TOKEN: adminToken, PORT: String(port), HOST: '127.0.0.1', HRSYNC_QUEUE_PREFIX: prefix, LOG_LEVEL: 'warn', NODE_ENV: 'production',
        // the bench measures capacity: the per-token bulk limits (429s) would cap it
        BULK_PER_MINUTE: '100000000', BULK_CONCURRENCY: '100000' },
      (line) => line.includes('hrsync is running on'),
      'hrsync start --role api',
    );
    console.log(`server: started in ${((Date.now() - t0) / 1000).toFixed(1)} s on port ${port} (pid ${server.pid})`);
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${adminToken}` };
    const ready = await fetch(`${base}/readyz`);
    if (ready.status !== 200) throw new Error(`readyz: ${ready.status} ${await ready.text()}`);

    // What the bare route answers: the real first page and a real rollout.
    const pageRes = await fetch(`${base}/api/users?limit=100`, { headers: auth });
    const page = (await pageRes.json()) as { data: unknown[]; nextCursor: string | null };
    if (page.data.length !== 100 || !page.nextCursor) throw new Error(`the first page has ${page.data.length} users`);
    const sendAt = new Date(Date.now() + 365 * 86_400_000).toISOString();
    const rolloutBody = JSON.stringify({ organizationId: ORG, filter: { location: 'Location 7', access: 'none' }, loginMethod: 'password', sendAt });
    const rolloutRes = await fetch(`${base}/api/rollouts`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: rolloutBody });
    if (rolloutRes.status !== 202) throw new Error(`POST /api/rollouts: ${rolloutRes.status} ${await rolloutRes.text()}`);
    writeFileSync(join(dir, 'users-page.json'), JSON.stringify(page));
    writeFileSync(join(dir, 'rollout.json'), await rolloutRes.text());
    const barePort = await freePort();
    bare = await startChild(['--import', 'tsx', fileURLToPath(import.meta.url), '--bare', String(barePort), dir], {}, (line) => line === 'ready', 'bare server');
    const bareBase = `http://127.0.0.1:${barePort}`;

    // Pages spread over the whole store (keyset cursors), the first page among them.
    const step = Math.max(1, Math.floor(USERS / 200));
    const paths = ['/api/users?limit=100', ...Array.from({ length: 199 }, (_, k) => `/api/users?limit=100&cursor=${Buffer.from(`u:${(k + 1) * step}`).toString('base64url')}`)];
    const list = { method: 'GET' as const, headers: auth, paths };
    const post = { method: 'POST' as const, headers: { ...auth, 'content-type': 'application/json' }, body: rolloutBody };
    const targets = {
      list: { hrsync: { url: base, ...list }, bare: { url: bareBase, method: 'GET' as const, headers: auth, paths: paths.map((p) => p.replace('/api/users', '/bare/users')) } },
      rollouts: { hrsync: { url: `${base}/api/rollouts`, ...post }, bare: { url: `${bareBase}/bare/rollouts`, ...post } },
    };
    const routeName = { list: 'GET /api/users (100 per page)', rollouts: 'POST /api/rollouts (filter, sendAt +1 y)' };

    const load1 = loadavg().map((x) => x.toFixed(2)).join(' ');
    // Warm-up (JIT, connection pools, caches): not reported.
    for (const k of ['list', 'rollouts'] as const) for (const t of ['hrsync', 'bare'] as const) await load({ ...targets[k][t], seconds: 4, connections: 4 });

    for (const k of (['list', 'rollouts'] as const).filter((x) => !ONLY || ONLY.includes(x))) {
      for (const [mode, rate, seconds] of [[`${RATE}/s`, RATE, SECONDS], ['max', undefined, Math.max(5, Math.round(SECONDS / 2))]] as const) {
        for (const t of ['hrsync', 'bare'] as const) {
          process.stdout.write(`${routeName[k]} ${t} ${mode} … `);
          const r = await load({ ...targets[k][t], rate, seconds, connections: CONNECTIONS, pid: (t === 'hrsync' ? server : bare)?.pid });
          console.log(`${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, max ${r.max.toFixed(1)} ms, errors ${r.errors}, server CPU ${r.serverCpu.toFixed(0)}%, load CPU ${r.loadCpu.toFixed(0)}%`);
          rows.push({ route: routeName[k], target: t, mode, ...r });
        }
      }
    }

    notes.push(`load average (1/5/15 min) before the measured runs: ${load1}; after: ${loadavg().map((x) => x.toFixed(2)).join(' ')} — above ${cpus().length} the machine was busy with other work too`);
    // Nothing was sent: every rollout is still scheduled, no invitation exists.
    const check = new pg.Client({ connectionString: databaseUrl });
    await check.connect();
    const st = (await check.query<{ status: string; n: number }>(`select status, count(*)::int as n from rollouts group by status`)).rows;
    const inv = (await check.query<{ n: number }>(`select count(*)::int as n from invitations`)).rows[0].n;
    await check.end();
    notes.push(`rollouts created by the run: ${st.map((s) => `${s.n} ${s.status}`).join(', ')}; invitations: ${inv} (nothing sent)`);
    if (inv !== 0 || st.some((s) => s.status !== 'scheduled')) throw new Error(`a bench rollout was sent: ${notes[notes.length - 1]}`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const table = formatTable(rows);
  const listAtRate = rows.find((r) => r.route.startsWith('GET') && r.target === 'hrsync' && r.mode === `${RATE}/s`);
  const verdict = listAtRate
    ? `target: p99 of GET /api/users at ${RATE} requests/s ≤ ${TARGET_P99_MS} ms — ${listAtRate.p99.toFixed(1)} ms ${listAtRate.p99 <= TARGET_P99_MS && listAtRate.errors === 0 && listAtRate.rps >= RATE * 0.95 ? '✓' : '✗'}`
    : 'target: (the list route was not run)';
  const setup = [
    `server: \`node --import tsx src/cli/run.ts start --role api\` (one process, admin token); PostgreSQL ${pgVersion} and Redis on 127.0.0.1; database ${USERS.toLocaleString('en')} users (32 locations, 32 groups, one membership each, a manager tree), dropped after the run`,
    `bare: a fastify server in its own process answering the same JSON (the first page; a real rollout) from memory`,
    `load: autocannon ${autocannonVersion()} in a third process, latency per response; fixed rate: ${RATE_INSTANCES ?? RATE} single-connection instances at ${Math.round(RATE / (RATE_INSTANCES ?? RATE))} request/s each, started evenly apart (${SECONDS} s; autocannon's own rate limit would send each second's quota as one burst); max: one instance, ${CONNECTIONS} connections, unthrottled (${Math.max(5, Math.round(SECONDS / 2))} s); list requests cycle over 200 pages spread over the store by cursor`,
    `all processes (load generator, server, bare server, PostgreSQL, Redis) share the machine's ${cpus().length} cores; server CPU and load CPU are % of one core used by the server under test and by the load generator during the run; differences below ~15% between runs are noise`,
    ...notes,
  ];
  console.log(`\n${table}\n\n${verdict}\n\n${setup.map((s) => `- ${s}`).join('\n')}`);
  const resultsDir = join(HERE, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `api-${started.toISOString().slice(0, 10)}.md`);
  writeFileSync(file, `# hrsync API bench — ${started.toISOString()}\n\nmachine: ${machine}\n\n${table}\n\n${verdict}\n\n${setup.map((s) => `- ${s}`).join('\n')}\n`);
  console.log(`\nwritten to ${file}`);
}

function autocannonVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules/autocannon/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function formatTable(rows: Load[]): string {
  const head = ['route', 'server', 'rate', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'server CPU', 'load CPU', 'ratio to bare'];
  const body = rows.map((r) => {
    const b = rows.find((x) => x.route === r.route && x.mode === r.mode && x.target === 'bare')!;
    // at a fixed rate: p99 over the bare route's p99; unthrottled: the bare route's throughput over ours
    const ratio = r.target === 'bare' ? '' : r.mode === 'max' ? `${(b.rps / r.rps).toFixed(1)}× fewer req/s` : `p50 ${(r.p50 / b.p50).toFixed(1)}×, p99 ${(r.p99 / b.p99).toFixed(1)}×`;
    return [r.route, r.target, r.mode, r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2), r.max.toFixed(1), `${r.errors} / ${r.requests}`, `${r.serverCpu.toFixed(0)}%`, `${r.loadCpu.toFixed(0)}%`, ratio];
  });
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i >= 3 && i <= 9 ? '---:' : '---'))), ...body.map(line)].join('\n');
}
