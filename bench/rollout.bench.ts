/**
 * Rollout benchmark: `npm run bench:rollout` (BENCH_N=20000 for a smaller run).
 *
 * One rollout to N users (100,000 by default), delivered by the real worker (`startWorkers`,
 * in a child process) to a local SMTP sink (another child process), against a baseline in
 * the same run: plain nodemailer, same pool settings, sending N messages it builds itself
 * (`sendMail({ from, to, subject, html, text })`) with the same rendered content.
 *
 * Measured:
 *   - baseline: nodemailer sendMail × N (child process of its own);
 *   - template filling: compiled-template render + raw MIME build × N, no I/O (child process);
 *   - trigger: the rollout's startedAt − sendAt (the delayed BullMQ job firing);
 *   - whole rollout: sendAt → status `completed` (trigger, selection, invitations created,
 *     batches enqueued in `addBulk` chunks, claim, render, send, record). The rollout is created
 *     with sendAt 2 s ahead so that the delayed trigger is exercised; the wait is not counted
 *     (create → completed is in the note). Times are the database's (send_at, started_at,
 *     finished_at, sent_at);
 *   - peak RSS of each child, sampled every 50 ms from /proc by this process.
 * At the end it checks that the sink received exactly N messages and every invitation is `sent`.
 *
 * The worker runs as in production, plain node on compiled code: the current tree is built with
 * `tsc -p tsconfig.build.json` into a temp dir (BENCH_WORKER=tsx runs it from sources instead;
 * tsx's loader adds ~40 MB of RSS).
 *
 * Setup (the build, users inserted in bulk SQL, a warm-up rollout to 2,000 users of another
 * organization, a warm-up of the baseline transport) is not timed. Everything runs on 127.0.0.1; the bench
 * database (hrsync_bench_rollout_<ts>) is dropped and the Redis prefix deleted at the end.
 *
 * Also reported: CPU seconds of the worker, the sink and the bench database's PostgreSQL
 * backends (from /proc), and what that means on this machine's cores: it is shared.
 *
 * Env: BENCH_N (default 100000), BENCH_BASELINE=0 (skip the baseline), BENCH_WORKER=tsx, BENCH_CHUNK_SIZE (invitations.chunkSize in the config file;
 * default: the schema's), INVITE_BATCH_SIZE / INVITE_CONCURRENCY (passed to the worker),
 * BENCH_SEND_DELAY_MS (sendAt − create, default 2000), BENCH_CPU_PROF=1 (worker --cpu-prof into
 * $TMPDIR/hrsync-rollout-prof-<ts>/), BENCH_DATABASE_ADMIN_URL / TEST_DATABASE_ADMIN_URL, TEST_REDIS_URL.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { stringify } from 'yaml';
import { loadConfig, type AppConfig } from '../src/config/load.js';
import { createContext, type AppContext } from '../src/app/context.js';
import { newToken } from '../src/invitations/rollout-service.js';
import { buildAcceptUrl, compileInvitationTemplates } from '../src/mail/invitation-template.js';
import { SMTP_DEFAULTS } from '../src/mail/smtp-transport.js';
import { createLogger } from '../src/lib/logger.js';
import type { LoginMethod } from '../src/domain/rollout-plan.js';
import { startWorkers } from '../jobs/workers.js';
import { startSmtpSink, type SinkStats } from '../test/support/smtp-sink.js';
import { deletePrefix } from '../test/support/redis.js';
import { buildTree, type BuiltTree } from './lib/build.js';
import { cpuOf, loadLine, machineLine, rssOf, rssSampler } from './lib/machine.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number((process.env.BENCH_N ?? '100000').replace(/_/g, ''));
const WARMUP_N = 2_000;
const SEND_DELAY_MS = Number(process.env.BENCH_SEND_DELAY_MS ?? 2_000);
/** The pool the worker's SMTP transport uses (createMailTransport → SMTP_DEFAULTS); the baseline gets the same. */
const POOL = { maxConnections: SMTP_DEFAULTS.maxConnections, maxMessages: SMTP_DEFAULTS.maxMessages };
/** sends outstanding at once in the baseline (nodemailer queues the rest on its pool) */
const BASELINE_IN_FLIGHT = 100;
const ORG = { id: 'bench', name: 'Bäckerei Müller & Söhne <Nord> GmbH' };
const WARM_ORG = { id: 'bench-warmup', name: 'Warm-up Ltd' };
const LOGIN_METHOD: LoginMethod = 'password';
const MESSAGE = 'Welcome aboard!\nYour equipment is waiting for you at the front desk — see you on Monday.';
const MAIL_FROM = 'Acme Workplace <no-reply@acme-corp.example>';
const APP_URL = 'https://workplace.acme-corp.example';
const TARGETS = { rolloutPerSecond: 1_000, ratioToBaseline: 1.2, fillPerSecond: 20_000, triggerSeconds: 1, rssMb: 300 };

// ---------------------------------------------------------------------------------------------
// the recipients (deterministic; the baseline and the fill phase use the same people)

const FIRST = ['Ana', 'Ben', 'Chloé', 'David', 'Elif', 'Femi', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kaja', 'Luis', 'Mia', 'Noah', 'Olga', "D'Arcy",
  'Zoë', 'Jürgen', 'Li', 'Amélie'];
const LAST = ['Ruiz', 'Müller', 'Schmidt', "O'Brien", 'Yilmaz', 'Nowak', 'Rossi', 'Dubois', 'Tanaka', 'Kim', 'Silva', 'García', null];

interface Person {
  email: string;
  firstName: string | null;
  lastName: string | null;
}

function person(org: string, i: number): Person {
  const firstName = i % 17 === 0 ? null : FIRST[i % FIRST.length]!;
  const lastName = LAST[(i * 7) % LAST.length]!;
  return { email: `user${i}@${org}.acme-corp.example`, firstName, lastName };
}

// ---------------------------------------------------------------------------------------------
// helpers

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Run `task(i)` for i < n with at most `limit` outstanding. */
async function pooled(n: number, limit: number, task: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

// ---------------------------------------------------------------------------------------------
// children: one process each, so that nothing competes with the measured code's event loop

type ChildRole = 'sink' | 'baseline' | 'fill' | 'worker';
interface Child {
  proc: ChildProcess;
  request<T = unknown>(type: string, body?: Record<string, unknown>): Promise<T>;
  exit(): Promise<void>;
}

async function startChild(
  role: ChildRole,
  env: Record<string, string>,
  execArgv: string[] = process.execArgv,
  script: string = SELF,
): Promise<Child & { ready: Record<string, unknown> }> {
  const proc = fork(script, [`--${role}-child`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...env }, execArgv });
  const pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let exited = false;
  const exitP = new Promise<void>((resolve) => proc.once('exit', (code) => {
    exited = true;
    for (const p of pending.values()) p.reject(new Error(`${role} child exited (${code})`));
    pending.clear();
    resolve();
  }));
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    proc.once('error', reject);
    void exitP.then(() => reject(new Error(`${role} child exited before it was ready`)));
    proc.once('message', (m: Record<string, unknown>) => resolve(m));
  });
  proc.on('message', (m: { id?: number; error?: string; result?: unknown }) => {
    const p = m.id !== undefined ? pending.get(m.id) : undefined;
    if (!p) return;
    pending.delete(m.id!);
    if (m.error) p.reject(new Error(`${role} child: ${m.error}`));
    else p.resolve(m.result);
  });
  return {
    proc,
    ready,
    request(type, body = {}) {
      const id = ++nextId;
      return new Promise((resolve, reject) => {
        if (exited) return reject(new Error(`${role} child has exited`));
        pending.set(id, { resolve, reject });
        proc.send({ ...body, type, id });
      });
    },
    async exit() {
      if (exited) return;
      const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
      proc.send({ type: 'exit', id: 0 });
      await exitP;
      clearTimeout(timer);
    },
  };
}

/** The child side: answer requests with handlers; `exit` runs `onExit` then exits. */
function serve(handlers: Record<string, (m: Record<string, unknown>) => Promise<unknown>>, onExit: () => Promise<void>, ready: Record<string, unknown> = {}) {
  process.on('message', (m: Record<string, unknown> & { type: string; id: number }) => {
    if (m.type === 'exit') {
      void onExit().finally(() => process.exit(0));
      return;
    }
    const h = handlers[m.type];
    if (!h) return process.send!({ id: m.id, error: `unknown request ${m.type}` });
    h(m).then(
      (result) => process.send!({ id: m.id, result }),
      (err: Error) => process.send!({ id: m.id, error: err.stack ?? err.message }),
    );
  });
  process.on('disconnect', () => void onExit().finally(() => process.exit(0)));
  process.send!({ type: 'ready', ...ready });
}

async function sinkChild(): Promise<void> {
  const sink = await startSmtpSink({ parse: false, capture: false });
  serve({ stats: async () => ({ ...sink.stats }) }, () => sink.close(), { url: sink.url });
}

/** Plain nodemailer: renders with the same compiled template, lets nodemailer compose the MIME. */
async function baselineChild(): Promise<void> {
  const smtpUrl = process.env.SMTP_URL!;
  const templates = await compileInvitationTemplates({ from: MAIL_FROM });
  const data = (i: number) => {
    const p = person(ORG.id, i);
    return {
      to: p.email, firstName: p.firstName, lastName: p.lastName, organizationName: ORG.name, loginMethod: LOGIN_METHOD, message: MESSAGE,
      acceptUrl: buildAcceptUrl(APP_URL, newToken()), expiresAt: new Date(Date.now() + 7 * 86_400_000),
    };
  };
  const send = (t: ReturnType<typeof nodemailer.createTransport>, i: number) => {
    const d = data(i);
    const r = templates.render(d);
    const name = [d.firstName, d.lastName].filter(Boolean).join(' ');
    return t.sendMail({ from: MAIL_FROM, to: name ? { name, address: d.to } : d.to, subject: r.subject, html: r.html, text: r.text });
  };
  serve({
    async run(m) {
      const n = m.n as number;
      const warm = nodemailer.createTransport({ url: smtpUrl, pool: true, ...POOL, logger: false });
      await pooled(Math.min(1_000, n), BASELINE_IN_FLIGHT, (i) => send(warm, i));
      warm.close();
      const t = nodemailer.createTransport({ url: smtpUrl, pool: true, ...POOL, logger: false });
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await pooled(n, BASELINE_IN_FLIGHT, (i) => send(t, i));
      const s = seconds(t0);
      const c = process.cpuUsage(c0);
      t.close();
      return { seconds: s, cpuUsPerMessage: (c.user + c.system) / n, warmup: Math.min(1_000, n) };
    },
  }, async () => {});
}

/** Template filling only: what InvitationMailer does per message before the transport. */
async function fillChild(): Promise<void> {
  const templates = await compileInvitationTemplates({ from: MAIL_FROM });
  serve({
    async run(m) {
      const n = m.n as number;
      const tokens = Array.from({ length: n }, () => newToken());
      const ids = Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      const expiresAt = new Date(Date.now() + 7 * 86_400_000);
      let check = 0;
      const one = (i: number) => {
        const p = person(ORG.id, i);
        const mail = templates.build(
          { to: p.email, firstName: p.firstName, lastName: p.lastName, organizationName: ORG.name, loginMethod: LOGIN_METHOD, message: MESSAGE,
            acceptUrl: buildAcceptUrl(APP_URL, tokens[i]!), expiresAt },
          { logId: ids[i], headers: { 'X-Hrsync-Invitation-Id': ids[i]! } },
        );
        check += (mail.raw as string).charCodeAt(3000); // a flat string, as the socket write needs
      };
      for (let i = 0; i < Math.min(5_000, n); i++) one(i); // warm-up
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) one(i);
      const s = seconds(t0);
      const c = process.cpuUsage(c0);
      return { seconds: s, cpuUsPerMessage: (c.user + c.system) / n, check };
    },
  }, async () => {});
}

/**
 * The worker as production runs it: plain node on the compiled sources (no tsx loader, which
 * adds ~40 MB of RSS), built into the bench's temp dir from the current tree. The same protocol
 * as workerChild() below (used with BENCH_WORKER=tsx).
 */
const COMPILED_WORKER = `
import { loadConfig } from './dist/src/config/load.js';
import { createContext } from './dist/src/app/context.js';
import { createLogger } from './dist/src/lib/logger.js';
import { startWorkers } from './dist/jobs/workers.js';
const config = loadConfig(process.env);
const ctx = await createContext({ config, log: createLogger({ level: config.logLevel }) });
const workers = await startWorkers(ctx);
let stopping = null;
const stop = () => (stopping ??= (async () => { await workers.close(10_000); await ctx.close(); process.exit(0); })());
process.on('message', (m) => { if (m.type === 'exit') void stop(); });
process.on('disconnect', () => void stop());
process.send({ type: 'ready', settings: { ...config.invitations } });
`;

/** Compiles the current tree (bench/lib/build.ts) into `dir`; returns it with the worker entry script written beside it. */
function buildWorker(dir: string): BuiltTree & { entry: string } {
  const tree = buildTree(dir);
  const entry = join(dir, 'bench-worker.js');
  writeFileSync(entry, COMPILED_WORKER);
  return { ...tree, entry };
}

/** The real worker: `startWorkers(ctx)` with the bench's config, until told to exit. */
async function workerChild(): Promise<void> {
  const config = loadConfig(process.env);
  const ctx = await createContext({ config, log: createLogger({ level: config.logLevel }) });
  const workers = await startWorkers(ctx);
  serve({}, async () => {
    await workers.close(10_000);
    await ctx.close();
  }, { settings: { ...config.invitations } });
}

// ---------------------------------------------------------------------------------------------
// the driver

interface ResultRow {
  phase: string;
  messages: number | null;
  seconds: number;
  ratio: number | null;
  rssMb: number | null;
  note?: string;
}

async function insertUsers(db: pg.Client, org: string, n: number): Promise<void> {
  for (let from = 0; from < n; from += 10_000) {
    const to = Math.min(n, from + 10_000);
    const emails: string[] = [];
    const firsts: (string | null)[] = [];
    const lasts: (string | null)[] = [];
    for (let i = from; i < to; i++) {
      const p = person(org, i);
      emails.push(p.email);
      firsts.push(p.firstName);
      lasts.push(p.lastName);
    }
    await db.query(
      `insert into users (organization_id, email, first_name, last_name, source, status, access)
       select $1, e, f, l, 'manual', 'active', 'none' from unnest($2::text[], $3::text[], $4::text[]) as t(e, f, l)`,
      [org, emails, firsts, lasts],
    );
  }
}

async function main(): Promise<void> {
  if (!Number.isInteger(N) || N < 1) throw new Error(`BENCH_N must be a positive integer, got ${process.env.BENCH_N}`);
  const machine = `${machineLine()}, load average at start ${loadLine()}`;
  const started = new Date();
  console.log(`hrsync rollout bench — ${started.toISOString()}\nmachine: ${machine}\nN = ${N.toLocaleString('en')}\n`);

  const dir = mkdtempSync(join(tmpdir(), 'hrsync-rollout-bench-'));
  const dbName = `hrsync_bench_rollout_${Date.now()}`;
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const databaseUrl = u.toString();
  const prefix = `{hrsync-bench-${randomBytes(4).toString('hex')}}`;
  const children: Child[] = [];
  let ctx: AppContext | null = null;
  let db: pg.Client | null = null;
  let built: (BuiltTree & { entry: string }) | null = null;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of children.reverse()) await c.exit().catch(() => c.proc.kill('SIGKILL'));
    await ctx?.close().catch(() => {});
    await db?.end().catch(() => {});
    const keys = await deletePrefix(REDIS_URL, prefix).catch(() => -1);
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`drop database if exists "${dbName}" with (force)`);
    await admin.end();
    built?.unlink(); // the link to the repository's node_modules, not what it points to
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`cleanup: workers and sink stopped, ${keys} Redis keys under ${prefix} deleted, database ${dbName} dropped\n`);
  };
  const onSignal = () => {
    process.stderr.write('\ninterrupted: cleaning up\n');
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: ResultRow[] = [];
  let settings: Record<string, unknown> = {};
  let verification = '';
  let profDir: string | null = null;
  try {
    // --- setup (not timed) ---------------------------------------------------------------------
    const sink = await startChild('sink', {});
    children.push(sink);
    const smtpUrl = sink.ready.url as string;

    let workerScript: string | null = null;
    if (process.env.BENCH_WORKER !== 'tsx') {
      process.stderr.write('setup: compiling the worker (tsc -p tsconfig.build.json) …\n');
      built = buildWorker(join(dir, 'build'));
      workerScript = built.entry;
    }
    const configPath = join(dir, 'hrsync.config.yaml');
    const chunk = process.env.BENCH_CHUNK_SIZE ? { chunkSize: Number(process.env.BENCH_CHUNK_SIZE) } : {};
    writeFileSync(configPath, stringify({ organizations: [{ ...ORG, connectors: [] }, { ...WARM_ORG, connectors: [] }], invitations: { ...chunk } }));
    const env: Record<string, string> = {
      HRSYNC_CONFIG: configPath,
      DATABASE_URL: databaseUrl,
      REDIS_URL,
      HRSYNC_QUEUE_PREFIX: prefix,
      SMTP_URL: smtpUrl,
      MAIL_FROM,
      APP_URL,
      LOG_LEVEL: 'warn',
      // the provider quota is off: this measures what the worker can do (the default, 100/s, would cap it)
      INVITE_RATE_PER_SECOND: process.env.INVITE_RATE_PER_SECOND ?? '0',
      ...(process.env.INVITE_BATCH_SIZE ? { INVITE_BATCH_SIZE: process.env.INVITE_BATCH_SIZE } : {}),
      ...(process.env.INVITE_CONCURRENCY ? { INVITE_CONCURRENCY: process.env.INVITE_CONCURRENCY } : {}),
    };
    const config: AppConfig = loadConfig(env, dir);
    ctx = await createContext({ config, log: createLogger({ level: 'warn' }) }); // creates and migrates the database
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    process.stderr.write(`setup: inserting ${N.toLocaleString('en')} + ${WARMUP_N.toLocaleString('en')} users …\n`);
    await insertUsers(db, ORG.id, N);
    await insertUsers(db, WARM_ORG.id, WARMUP_N);
    await db.query('vacuum analyze');
    const pgVersion = (await db.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;

    // --- baseline: plain nodemailer (BENCH_BASELINE=0 skips it, for profiling runs) ----------
    let b: { seconds: number } | null = null;
    const receivedBefore = async () => (await sink.request<SinkStats>('stats')).received;
    let r0 = 0;
    let rss: ReturnType<typeof rssSampler>;
    let cpu0: number[];
    if (process.env.BENCH_BASELINE !== '0') {
      process.stderr.write('baseline: nodemailer sendMail …\n');
      const baseline = await startChild('baseline', { SMTP_URL: smtpUrl });
      children.push(baseline);
      r0 = await receivedBefore();
      rss = rssSampler(baseline.proc.pid!);
      cpu0 = [cpuOf(sink.proc.pid!)];
      const run = await baseline.request<{ seconds: number; cpuUsPerMessage: number; warmup: number }>('run', { n: N });
      const baselineRss = rss.stop();
      const baselineCpu = `CPU: client ${run.cpuUsPerMessage.toFixed(0)} µs/msg, sink ${(((cpuOf(sink.proc.pid!) - cpu0[0]!) * 1e6) / (N + run.warmup)).toFixed(0)} µs/msg`;
      const baselineReceived = (await receivedBefore()) - r0 - run.warmup;
      if (baselineReceived !== N) throw new Error(`baseline: the sink received ${baselineReceived} messages, expected ${N}`);
      await baseline.exit();
      b = run;
      results.push({ phase: 'baseline: nodemailer sendMail (builds its own MIME)', messages: N, seconds: run.seconds, ratio: 1, rssMb: baselineRss, note: `pool ${POOL.maxConnections}×${POOL.maxMessages}, ${BASELINE_IN_FLIGHT} in flight; ${baselineCpu}` });
    }

    // --- template filling --------------------------------------------------------------------
    process.stderr.write('template filling …\n');
    const fill = await startChild('fill', {});
    children.push(fill);
    rss = rssSampler(fill.proc.pid!);
    const f = await fill.request<{ seconds: number; cpuUsPerMessage: number }>('run', { n: N });
    const fillRss = rss.stop();
    await fill.exit();
    results.push({ phase: 'template filling: render + MIME build', messages: N, seconds: f.seconds, ratio: null, rssMb: fillRss, note: `no I/O; CPU ${f.cpuUsPerMessage.toFixed(0)} µs/msg` });

    // --- the worker --------------------------------------------------------------------------
    const fromSources = process.env.BENCH_WORKER === 'tsx';
    const execArgv = fromSources ? [...process.execArgv] : [];
    if (process.env.BENCH_CPU_PROF === '1') {
      profDir = join(tmpdir(), `hrsync-rollout-prof-${started.toISOString().replace(/[:.]/g, '-')}`);
      mkdirSync(profDir, { recursive: true });
      execArgv.push('--cpu-prof', `--cpu-prof-dir=${profDir}`);
    }
    const worker = await startChild('worker', env, execArgv, workerScript ?? SELF);
    children.push(worker);
    settings = worker.ready.settings as Record<string, unknown>;
    process.stderr.write(`worker: ${JSON.stringify(settings)}\n`);
    const rollouts = ctx.rollouts();
    const statusOf = async (id: string) =>
      (await db!.query<{ status: string; send_at: Date; started_at: Date | null; finished_at: Date | null }>(
        `select status, send_at, started_at, finished_at from rollouts where id = $1`, [id])).rows[0]!;
    const waitDone = async (id: string, timeoutMs: number, progress = false) => {
      const end = Date.now() + timeoutMs;
      let lastReport = Date.now();
      for (;;) {
        const s = await statusOf(id);
        if (s.status !== 'scheduled' && s.status !== 'running') return s;
        if (Date.now() > end) throw new Error(`rollout ${id} still ${s.status} after ${timeoutMs / 1000} s`);
        if (progress && Date.now() - lastReport > 10_000) {
          lastReport = Date.now();
          const sent = (await db!.query<{ n: number }>(`select count(*)::int as n from invitations where rollout_id = $1 and status = 'sent'`, [id])).rows[0]!.n;
          process.stderr.write(`  … ${s.status}: ${sent.toLocaleString('en')} sent, worker RSS ${rssOf(worker.proc.pid!).toFixed(0)} MB\n`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    process.stderr.write(`warm-up rollout (${WARMUP_N.toLocaleString('en')} users, not reported) …\n`);
    const warm = await rollouts.create(WARM_ORG.id, { filter: { access: 'none' }, loginMethod: LOGIN_METHOD, message: MESSAGE });
    const w = await waitDone(warm.id, 120_000);
    if (w.status !== 'completed') throw new Error(`warm-up rollout ended ${w.status}`);

    process.stderr.write(`rollout to ${N.toLocaleString('en')} users …\n`);
    r0 = await receivedBefore();
    rss = rssSampler(worker.proc.pid!);
    cpu0 = [cpuOf(worker.proc.pid!), cpuOf(sink.proc.pid!)];
    const backends = async () => (await db!.query<{ pid: number }>(`select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [dbName])).rows.map((r) => r.pid);
    const pg0 = new Map((await backends()).map((pid) => [pid, cpuOf(pid)]));
    const loadBeforeRollout = loadavg()[0]!.toFixed(2);
    const tCreate = process.hrtime.bigint();
    const sendAt = new Date(Date.now() + SEND_DELAY_MS);
    const created = await rollouts.create(ORG.id, { filter: { access: 'none' }, loginMethod: LOGIN_METHOD, message: MESSAGE, sendAt: sendAt.toISOString() });
    const createSeconds = seconds(tCreate);
    const done = await waitDone(created.id, Math.max(300_000, N * 10), true);
    const workerRss = rss.stop();
    const workerCpu = cpuOf(worker.proc.pid!) - cpu0[0]!;
    const sinkCpu = cpuOf(sink.proc.pid!) - cpu0[1]!;
    const pgCpu = (await backends()).reduce((sum, pid) => sum + cpuOf(pid) - (pg0.get(pid) ?? 0), 0);
    const us = (cpu: number) => `${((cpu * 1e6) / N).toFixed(0)} µs/msg`;
    const rolloutCpu = `CPU: worker ${workerCpu.toFixed(1)} s (${us(workerCpu)}), sink ${sinkCpu.toFixed(1)} s (${us(sinkCpu)}), PostgreSQL backends ${pgCpu.toFixed(1)} s (${us(pgCpu)})`;
    const createToDone = seconds(tCreate);
    if (done.status !== 'completed') throw new Error(`rollout ended ${done.status}`);

    // DB clock throughout: send_at was written from ours, started_at / finished_at / sent_at by PostgreSQL (same machine)
    const sendAtMs = new Date(done.send_at).getTime();
    const triggerS = (new Date(done.started_at!).getTime() - sendAtMs) / 1000;
    const wholeS = (new Date(done.finished_at!).getTime() - sendAtMs) / 1000;
    const span = (await db.query<{ first: Date; last: Date }>(`select min(sent_at) as first, max(sent_at) as last from invitations where rollout_id = $1`, [created.id])).rows[0]!;
    const firstSentS = (new Date(span.first).getTime() - new Date(done.started_at!).getTime()) / 1000;
    const sendingS = (new Date(span.last).getTime() - new Date(span.first).getTime()) / 1000;

    // --- verification ------------------------------------------------------------------------
    await new Promise((r) => setTimeout(r, 500)); // nothing must trickle in after completion
    const received = (await receivedBefore()) - r0;
    const byStatus = (await db.query<{ status: string; n: number }>(`select status, count(*)::int as n from invitations where rollout_id = $1 group by status`, [created.id])).rows;
    const record = (await rollouts.get(created.id))!;
    const invited = (await db.query<{ n: number }>(`select count(*)::int as n from users where organization_id = $1 and access = 'invited'`, [ORG.id])).rows[0]!.n;
    const allSent = byStatus.length === 1 && byStatus[0]!.status === 'sent' && byStatus[0]!.n === N;
    const problems: string[] = [];
    if (received !== N) problems.push(`the sink received ${received} messages, expected ${N}`);
    if (!allSent) problems.push(`invitations by status ${JSON.stringify(byStatus)}, expected ${N} sent`);
    if (record.status !== 'completed' || record.counts.sent !== N || record.counts.targeted !== N) problems.push(`rollout record ${record.status} ${JSON.stringify(record.counts)}`);
    if (invited !== N) problems.push(`${invited} users invited, expected ${N}`);
    if (problems.length > 0) throw new Error(`verification failed: ${problems.join('; ')}`);
    verification = `verified: the sink received exactly ${received.toLocaleString('en')} messages; all ${N.toLocaleString('en')} invitations \`sent\`; rollout \`completed\` with counts.sent = ${record.counts.sent.toLocaleString('en')}; ${invited.toLocaleString('en')} users \`invited\``;

    results.push({ phase: 'trigger: sendAt → fired (startedAt − sendAt)', messages: null, seconds: triggerS, ratio: null, rssMb: null });
    results.push({ phase: 'fired → first message recorded sent', messages: null, seconds: firstSentS, ratio: null, rssMb: null, note: 'selection, invitations, addBulk, first chunk' });
    results.push({ phase: 'sending: first → last message recorded', messages: N, seconds: sendingS, ratio: b ? sendingS / b.seconds : null, rssMb: null });
    results.push({ phase: 'whole rollout: sendAt → completed', messages: N, seconds: wholeS, ratio: b ? wholeS / b.seconds : null, rssMb: workerRss, note: `create() ${createSeconds.toFixed(2)} s; create → completed seen ${createToDone.toFixed(2)} s; ${rolloutCpu}` });

    const pass = (ok: boolean) => (ok ? '✓' : '✗');
    const fillRate = N / f.seconds;
    const wholeRate = N / wholeS;
    const verdicts = [
      `- whole rollout ≥ ${TARGETS.rolloutPerSecond.toLocaleString('en')} msg/s: ${Math.round(wholeRate).toLocaleString('en')} ${pass(wholeRate >= TARGETS.rolloutPerSecond)}`,
      b ? `- whole rollout ≤ ${TARGETS.ratioToBaseline}× baseline time: ${(wholeS / b.seconds).toFixed(2)}× ${pass(wholeS / b.seconds <= TARGETS.ratioToBaseline)}` : '- baseline skipped (BENCH_BASELINE=0)',
      `- template filling ≥ ${TARGETS.fillPerSecond.toLocaleString('en')}/s: ${Math.round(fillRate).toLocaleString('en')} ${pass(fillRate >= TARGETS.fillPerSecond)}`,
      `- trigger within ${TARGETS.triggerSeconds} s of sendAt: ${triggerS.toFixed(3)} s ${pass(triggerS >= 0 && triggerS <= TARGETS.triggerSeconds)}`,
      `- worker peak RSS ≤ ${TARGETS.rssMb} MB: ${workerRss.toFixed(0)} MB ${pass(workerRss <= TARGETS.rssMb)}`,
    ].join('\n');

    await worker.exit(); // writes the CPU profile, if asked for
    await cleanup();

    const table = formatTable(results);
    const settingsLine = `worker settings: batchSize ${settings.batchSize}, chunkSize ${settings.chunkSize}, concurrency ${settings.concurrency}, ratePerSecond ${settings.ratePerSecond} (0 = unlimited); SMTP pool ${POOL.maxConnections} connections × ${POOL.maxMessages} messages; worker run ${workerScript ? 'compiled (tsc build of the current tree, plain node)' : 'from sources under tsx'}`;
    // The machine is shared: how much of it the rollout could have had is worth knowing.
    const cpuPerMessageUs = ((workerCpu + sinkCpu + pgCpu) * 1e6) / N;
    const capacity = `CPU per message: ${cpuPerMessageUs.toFixed(0)} µs (worker ${us(workerCpu)}, sink ${us(sinkCpu)}, PostgreSQL ${us(pgCpu)}); ` +
      `${cpus().length} idle cores would allow about ${Math.round((cpus().length * 1e6) / cpuPerMessageUs).toLocaleString('en')} msg/s, ` +
      `this run used ${((workerCpu + sinkCpu + pgCpu) / wholeS).toFixed(2)} cores on average (1-minute load average before the rollout ${loadBeforeRollout}, after it ${loadavg()[0]!.toFixed(2)})`;
    const out = `${table}\n\n${verdicts}\n\n${capacity}\n\n${verification}\n`;
    console.log(`\n${settingsLine}\n\n${out}`);
    if (profDir) console.log(`CPU profile of the worker: ${profDir}`);
    const resultsDir = join(HERE, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const file = join(resultsDir, `rollout-${started.toISOString().slice(0, 10)}.md`);
    writeFileSync(file, `# hrsync rollout bench — ${started.toISOString()}\n\nmachine: ${machine}  \nN: ${N.toLocaleString('en')}  \n` +
      `${settingsLine}  \nPostgreSQL ${pgVersion} and Redis on 127.0.0.1; SMTP sink (smtp-server, no parsing) in a child process; ` +
      `worker, baseline and template filling each in a child process of their own\n\n${out}`);
    console.log(`written to ${file}`);
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function formatTable(rows: ResultRow[]): string {
  const head = ['phase', 'messages', 'seconds', 'msg/s', 'ratio to baseline (time)', 'RSS MB', 'note'];
  const body = rows.map((r) => [
    r.phase,
    r.messages === null ? '' : r.messages.toLocaleString('en'),
    r.seconds.toFixed(r.messages === null ? 3 : 2),
    r.messages === null ? '' : Math.round(r.messages / r.seconds).toLocaleString('en'),
    r.ratio === null ? '' : `${r.ratio.toFixed(2)}×`,
    r.rssMb === null ? '' : r.rssMb.toFixed(0),
    r.note ?? '',
  ]);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((_, i) => (i === 0 || i === 6 ? '---' : '---:'))), ...body.map(line)].join('\n');
}

// entry: the driver, or (forked by it) one of the children
const role = process.argv.find((a) => /^--\w+-child$/.test(a))?.slice(2, -6) as ChildRole | undefined;
const entry = role === 'sink' ? sinkChild : role === 'baseline' ? baselineChild : role === 'fill' ? fillChild : role === 'worker' ? workerChild : main;
entry().catch((err) => {
  console.error(err);
  process.exitCode = 1;
  if (role) process.exit(1);
});
