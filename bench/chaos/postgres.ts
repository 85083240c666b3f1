/**
 * Chaos: PostgreSQL restarted under load. Every scenario runs on a private PostgreSQL
 * cluster (test/support/private-postgres.ts: its own data directory and port, never the
 * machine's shared server), a private redis-server and a real SMTP sink, all on 127.0.0.1.
 *
 *   pg-restart-sync      a large file-connector sync (200,000 employees; quick: 5,000) whose
 *                        database is restarted part way through the listing and at its end:
 *                        each interrupted run must end `failed` (never stay `running`), deactivate
 *                        nobody, leave the store consistent (SQL invariants), and the next run
 *                        must succeed and converge.
 *   pg-restart-rollout   a rollout (20,000 invitations; quick: 600) sent by a worker process
 *                        (`hrsync start --role worker`), its database restarted mid-send: the
 *                        rollout completes, nobody is missed, duplicates stay within the
 *                        messages in flight, invariants hold; time to recover measured.
 *
 * `npm run chaos -- --only pg-restart-sync` (bench/chaos/run.ts), or directly:
 *   npx tsx -e "import('./bench/chaos/postgres.ts').then(async m => { for (const s of m.scenarios) console.log(await s.run({ quick: false, log: console.log })) })"
 */
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createContext, type AppContext } from '../../src/app/context.js';
import { loadConfig } from '../../src/config/load.js';
import { checkInvariants, formatInvariantReport, type InvariantReport } from '../../src/db/invariants.js';
import { sql, sqlOne } from '../../src/db/sql.js';
import { silentLogger } from '../../src/lib/logger.js';
import type { SyncRunRecord } from '../../src/sync/run-record.js';
import { spawnCli } from '../../test/support/cli.js';
import { startPrivatePostgres, type PrivatePostgres } from '../../test/support/private-postgres.js';
import { startPrivateRedis } from '../../test/support/redis.js';
import { startSmtpSink } from '../../test/support/smtp-sink.js';
import { countDeadLinks } from './lib/rollout-check.js';
import { tokenHashOf } from './lib/rig.js';
import type { ChaosResult, ChaosScenario } from './scenario.js';

const TABLE = 'PostgreSQL restart';
const ORG = 'acme';
const CONNECTOR = 'acme-hr';
const fmt = (n: number) => n.toLocaleString('en-US');
const secs = (ms: number) => Math.round(ms / 10) / 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Mode = 'fast' | 'immediate';

// ---- the HR export: employee i of a company, and a variant where about 1% changed --------------------

const DEPARTMENTS = ['Engineering', 'Finance', 'Sales', 'Support', 'People', 'Legal', 'Marketing', 'Operations'];
const LOCATIONS = ['Berlin', 'Munich', 'Hamburg', 'Vienna', 'Zurich', 'Paris', 'Madrid', 'London'];
const MAPPING = { location: 'location', group: 'department' };
const empId = (i: number) => `E${String(i).padStart(7, '0')}`;
/** 1.5% former employees, still listed as inactive (never created). */
const formerly = (i: number) => i % 67 === 0;
/** In the changed variant: a new job title for about 1%, a termination for about 0.1%. */
const retitled = (i: number) => i % 97 === 0;
const terminated = (i: number) => i % 1009 === 0 && !formerly(i);

function csvRow(i: number, changed: boolean): string {
  const inactive = formerly(i) || (changed && terminated(i));
  const title = changed && retitled(i) ? 'Senior Engineer' : 'Engineer';
  const manager = i === 1 ? '' : empId(Math.floor((i - 2) / 8) + 1);
  return [empId(i), `emp${i}@acme-corp.example`, `First${i % 50}`, `Last${i % 70}`, title, DEPARTMENTS[i % 8], LOCATIONS[(i >> 3) % 8], manager, inactive ? 'inactive' : 'active'].join(',');
}

/** Employees 1..n as a CSV export (or its changed variant), streamed. */
async function writeExport(path: string, n: number, changed: boolean): Promise<void> {
  const out = createWriteStream(path);
  const write = (text: string) => (out.write(text) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r())));
  await write('employeeId,email,firstName,lastName,jobTitle,department,location,managerId,status\n');
  let chunk = '';
  for (let i = 1; i <= n; i++) {
    chunk += `${csvRow(i, changed)}\n`;
    if (i % 5_000 === 0) {
      await write(chunk);
      chunk = '';
    }
  }
  await write(chunk);
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

/** What syncing employees 1..n creates (active), and how many of them the changed variant terminates. */
function expectedCounts(n: number): { active: number; terminated: number } {
  let active = 0;
  let gone = 0;
  for (let i = 1; i <= n; i++) {
    if (formerly(i)) continue;
    active++;
    if (terminated(i)) gone++;
  }
  return { active, terminated: gone };
}

/** The smallest export whose initial sync creates exactly `active` users. */
function sizeForActive(active: number): number {
  let seen = 0;
  for (let i = 1; ; i++) if (!formerly(i) && ++seen === active) return i;
}

/** A fault: when (a fraction of the work done), how (pg_ctl's shutdown mode) and how long the server stays down. */
export interface PgFault {
  at: number;
  mode: Mode;
  downMs?: number;
}

interface Env {
  cluster: PrivatePostgres;
  ctx: AppContext;
  dir: string;
  exportPath: string;
  configPath: string;
  env: Record<string, string>;
  close(): Promise<void>;
}

/** A private cluster, a database in it, a config file for one organization with a file connector. */
async function setUp(opts: { batchSize: number; redisUrl?: string; extraEnv?: Record<string, string>; invitations?: Record<string, unknown> }): Promise<Env> {
  const cluster = await startPrivatePostgres();
  const dir = mkdtempSync(join(tmpdir(), 'hrsync-chaos-pg-'));
  try {
    const exportPath = join(dir, 'employees.csv');
    writeFileSync(exportPath, 'employeeId,email,firstName,lastName\n');
    const configPath = join(dir, 'hrsync.config.yaml');
    writeFileSync(
      configPath,
      stringify({
        organizations: [
          {
            id: ORG,
            name: 'Acme Corp',
            // maxPercent 100: a run that wrongly went on after losing part of its listing would really
            // deactivate the unseen users (not hold them), so the scenario would see it.
            connectors: [{ id: CONNECTOR, type: 'file', options: { path: exportPath }, mapping: MAPPING, deactivation: { maxPercent: 100 } }],
          },
        ],
        sync: { batchSize: opts.batchSize },
        ...(opts.invitations ? { invitations: opts.invitations } : {}),
      }),
    );
    const env: Record<string, string> = {
      HRSYNC_CONFIG: configPath,
      DATABASE_URL: cluster.databaseUrl('hrsync_chaos'),
      REDIS_URL: opts.redisUrl ?? 'redis://127.0.0.1:1', // the sync scenario uses no queue
      LOG_LEVEL: 'silent',
      ...opts.extraEnv,
    };
    const ctx = await createContext({ config: loadConfig(env, dir), log: silentLogger });
    return {
      cluster,
      ctx,
      dir,
      exportPath,
      configPath,
      env,
      async close() {
        await ctx.close().catch(() => {});
        await cluster.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A query that waits for the server to come back (used around the faults). */
async function eventually<T>(fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await sleep(100);
    }
  }
}

async function count(ctx: AppContext, text: string, params: unknown[] = []): Promise<number> {
  const r = await sqlOne<{ n: string }>(ctx.em(), text, params);
  return Number(r?.n ?? 0);
}

// ---- (a) PostgreSQL restarted mid-sync -----------------------------------------------------------

export interface SyncFaultOutcome {
  fault: PgFault;
  /** the interrupted run as recorded once the server was back */
  runId: string | null;
  status: string;
  error: string | null;
  /** what run() did: returned a record, or threw (with this message) */
  threw: string | null;
  /** users deactivated by the interrupted run (must be 0) */
  wronglyDeactivated: number;
  /** deactivations the run applied (must be 0 unless it succeeded) */
  appliedDeactivations: number;
  /** invariants right after the run ended, before anything else ran */
  invariants: InvariantReport;
  /** fault → the interrupted run recorded its end and let go of the connector (a next run can start) */
  recoveryMs: number | null;
}

export interface SyncChaosOutcome {
  rows: number;
  expectedActive: number;
  expectedTerminated: number;
  faults: SyncFaultOutcome[];
  finalRun: SyncRunRecord;
  /** a run after the final one: must change nothing */
  convergenceRun: SyncRunRecord;
  activeUsers: number;
  deactivatedUsers: number;
  duplicateUsers: number;
  invariants: InvariantReport;
  seconds: number;
  result: ChaosResult;
}

/** Starts a run, waiting while the connector is busy or the database is away; returns when it started, ended and its outcome. */
async function startRun(ctx: AppContext, onProgress?: (seen: number) => void): Promise<{ startedAt: number; endedAt: number; record: SyncRunRecord | null; threw: string | null; runId: string | null }> {
  const end = Date.now() + 120_000;
  for (;;) {
    const startedAt = Date.now();
    let runId: string | null = null;
    try {
      const record = await ctx.sync.run({
        connectorId: CONNECTOR,
        onProgress: (p) => {
          runId = p.runId;
          onProgress?.(p.seen);
        },
      });
      return { startedAt, endedAt: Date.now(), record, threw: null, runId: record.id };
    } catch (err) {
      const code = (err as { code?: string }).code;
      // Refused before it began (connector still locked, database still starting): try again.
      if (runId === null && (code === 'connector_busy' || code === 'database_unreachable' || code === 'ECONNREFUSED' || code === '57P03' || /connect|terminat/i.test((err as Error).message ?? '')) && Date.now() < end) {
        await sleep(200);
        continue;
      }
      return { startedAt, endedAt: Date.now(), record: null, threw: `${code ?? ''} ${(err as Error).message ?? err}`.trim().slice(0, 300), runId };
    }
  }
}

export async function pgRestartMidSync(opts: { rows: number; faults: PgFault[]; batchSize?: number; log?: (line: string) => void }): Promise<SyncChaosOutcome> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const n = opts.rows;
  const expected = expectedCounts(n);
  const env = await setUp({ batchSize: opts.batchSize ?? 2_000 });
  const { ctx, cluster } = env;
  try {
    log(`pg-restart-sync: ${fmt(n)} employees, private PostgreSQL on port ${cluster.port}`);
    await writeExport(env.exportPath, n, false);
    const seed = await ctx.sync.run({ connectorId: CONNECTOR });
    if (seed.status !== 'succeeded' || seed.counts.created !== expected.active) throw new Error(`seed sync: ${seed.status}, created ${seed.counts.created} of ${expected.active}`);
    log(`  seed sync: created ${fmt(seed.counts.created)}`);
    // From now on the listing is the 1%-changed export: updates, terminations.
    await writeExport(env.exportPath, n, true);

    const outcomes: SyncFaultOutcome[] = [];
    for (const fault of opts.faults) {
      const deactivatedBefore = await count(ctx, `select count(*) as n from users where status = 'deactivated'`);
      let faultAt = 0;
      let restart: Promise<{ stoppedAt: number; upAt: number }> | null = null;
      const trigger = Math.max(1, Math.floor(fault.at * n));
      const run = await startRun(ctx, (seen) => {
        if (restart || seen < trigger) return;
        faultAt = Date.now();
        restart = cluster.restart({ mode: fault.mode, downMs: fault.downMs });
        restart.catch(() => {});
      });
      if (!restart) {
        // The run ended before reaching the fault's point (it cannot, with at ≤ 1): restart now, between runs.
        faultAt = Date.now();
        restart = cluster.restart({ mode: fault.mode, downMs: fault.downMs });
      }
      const { upAt } = await (restart as Promise<{ stoppedAt: number; upAt: number }>);
      const runId = run.record?.id ?? run.runId;
      const row = runId
        ? await eventually(() => sqlOne<{ status: string; error: string | null }>(ctx.em(), `select status, error from sync_runs where id = ?`, [runId]))
        : null;
      const deactivatedAfter = await eventually(() => count(ctx, `select count(*) as n from users where status = 'deactivated'`));
      const applied = runId ? await count(ctx, `select count(*) as n from sync_run_deactivations where run_id = ? and applied_at is not null`, [runId]) : 0;
      const invariants = await eventually(() => checkInvariants(ctx.em()));
      const outcome: SyncFaultOutcome = {
        fault,
        runId,
        status: row?.status ?? 'never started',
        error: row?.error ?? null,
        threw: run.threw,
        wronglyDeactivated: row?.status === 'succeeded' ? 0 : deactivatedAfter - deactivatedBefore,
        appliedDeactivations: applied,
        invariants,
        // The run's end recorded once the server was back (a run left `running` never recovers).
        recoveryMs: row?.status === 'running' ? null : run.endedAt - faultAt,
      };
      outcomes.push(outcome);
      log(`  fault ${outcomes.length} (${fault.mode} restart at ${Math.round(fault.at * 100)}% of the listing, server back after ${secs(upAt - faultAt)} s): run ${outcome.status}${outcome.error ? ` (${outcome.error.slice(0, 120)})` : ''}${run.threw ? `; run() threw: ${run.threw.slice(0, 120)}` : ''}; recorded ${outcome.recoveryMs === null ? 'never' : `${secs(outcome.recoveryMs)} s after the fault`}; newly deactivated ${outcome.wronglyDeactivated}; invariants: ${formatInvariantReport(invariants)}`);
    }

    const final = await startRun(ctx);
    if (!final.record) throw new Error(`the run after the faults did not run: ${final.threw}`);
    log(`  next run: ${final.record.status}, counts ${JSON.stringify(final.record.counts)}`);
    const again = await startRun(ctx);
    if (!again.record) throw new Error(`the convergence run did not run: ${again.threw}`);
    log(`  convergence run: ${again.record.status}, counts ${JSON.stringify(again.record.counts)}`);

    const activeUsers = await count(ctx, `select count(*) as n from users where status = 'active'`);
    const deactivatedUsers = await count(ctx, `select count(*) as n from users where status = 'deactivated'`);
    const duplicateUsers = await count(ctx, `select count(*) - count(distinct (connector_id, external_id)) as n from users`);
    const invariants = await checkInvariants(ctx.em());
    log(`  store: ${fmt(activeUsers)} active (expected ${fmt(expected.active - expected.terminated)}), ${fmt(deactivatedUsers)} deactivated (expected ${fmt(expected.terminated)}); invariants: ${formatInvariantReport(invariants)}`);

    const seconds = secs(Date.now() - t0);
    const c = again.record.counts;
    // Lost: what the store still lacks after the faults and one clean run (the convergence run would have to do it).
    const lost = Math.max(0, expected.active - expected.terminated - activeUsers) + c.created + c.updated + c.deactivated + c.reactivated;
    const wrongful = outcomes.reduce((a, o) => a + Math.max(0, o.wronglyDeactivated), 0) + Math.max(0, deactivatedUsers - expected.terminated);
    const leftRunning = outcomes.filter((o) => o.status === 'running').length;
    const midViolations = outcomes.reduce((a, o) => a + o.invariants.violations, 0);
    const violations = wrongful + leftRunning + midViolations + invariants.violations;
    const recoveries = outcomes.map((o) => o.recoveryMs).filter((x): x is number => x !== null);
    const statuses = outcomes.map((o) => o.status).join(', ');
    const result: ChaosResult = {
      table: TABLE,
      scenario: `${fmt(n)}-employee file sync (1% changed), PostgreSQL restarted at ${opts.faults.map((f) => `${Math.round(f.at * 100)}% (${f.mode})`).join(', ')} of the listing`,
      faults: opts.faults.length,
      expected: expected.active,
      lost,
      duplicated: duplicateUsers,
      duplicateBound: 0,
      violations,
      recoverySeconds: recoveries.length ? secs(Math.max(...recoveries)) : null,
      seconds,
      ok: lost === 0 && violations === 0 && duplicateUsers === 0 && final.record.status === 'succeeded',
      notes: `interrupted runs: ${statuses} (end recorded ${outcomes.map((o) => (o.recoveryMs === null ? 'never' : `${secs(o.recoveryMs)} s`)).join(', ')} after the faults); next run ${final.record.status} (deactivated ${final.record.counts.deactivated} of ${expected.terminated} terminated); convergence run unchanged ${fmt(c.unchanged)}; wrongful deactivations ${wrongful}; invariant violations mid-way ${midViolations}, at the end ${invariants.violations}`,
    };
    return {
      rows: n,
      expectedActive: expected.active,
      expectedTerminated: expected.terminated,
      faults: outcomes,
      finalRun: final.record,
      convergenceRun: again.record,
      activeUsers,
      deactivatedUsers,
      duplicateUsers,
      invariants,
      seconds,
      result,
    };
  } finally {
    await env.close();
  }
}

// ---- (b) PostgreSQL restarted mid-rollout ----------------------------------------------------------

export interface RolloutFaultOutcome {
  fault: PgFault;
  /** messages received by the sink when the fault hit */
  receivedAtFault: number;
  /** invitations `sending` (claimed, in flight) just before the fault */
  sendingAtFault: number;
  /** fault → the first invitation recorded sent after the server was back */
  recoveryMs: number | null;
}

export interface RolloutChaosOutcome {
  users: number;
  rolloutStatus: string;
  counts: Record<string, number>;
  received: number;
  uniqueRecipients: number;
  lost: number;
  duplicates: number;
  /** messages that can be in flight at once: concurrency × chunk size, per fault */
  duplicateBound: number;
  faults: RolloutFaultOutcome[];
  workerAlive: boolean;
  /** worker stderr lines that carry an e-mail address (must be 0) */
  leakyLogLines: number;
  workerWarnings: string[];
  invariants: InvariantReport;
  seconds: number;
  result: ChaosResult;
}

export async function pgRestartMidRollout(opts: {
  users: number;
  faults: PgFault[];
  ratePerSecond?: number;
  concurrency?: number;
  chunkSize?: number;
  batchSize?: number;
  log?: (line: string) => void;
}): Promise<RolloutChaosOutcome> {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const concurrency = opts.concurrency ?? 4;
  const chunkSize = opts.chunkSize ?? 25;
  const redis = await startPrivateRedis();
  const sink = await startSmtpSink({ parse: false, capture: true });
  let env: Env | null = null;
  let worker: ReturnType<typeof spawnCli> | null = null;
  // The sink keeps every raw message; for 20,000 messages only the recipients are needed.
  const byRecipient = new Map<string, number>();
  const hashesOf = new Map<string, Set<string>>();
  const drain = () => {
    for (const m of sink.messages.splice(0)) {
      const hash = tokenHashOf(m.raw);
      for (const to of m.envelope.to) {
        const key = to.toLowerCase();
        byRecipient.set(key, (byRecipient.get(key) ?? 0) + 1);
        if (hash) hashesOf.set(key, (hashesOf.get(key) ?? new Set()).add(hash));
      }
    }
  };
  const drainer = setInterval(drain, 200);
  try {
    env = await setUp({
      batchSize: 5_000,
      redisUrl: redis.url,
      invitations: { batchSize: opts.batchSize ?? 250, chunkSize, concurrency, ratePerSecond: opts.ratePerSecond ?? 0, reconcileEverySeconds: 5 },
      extraEnv: { SMTP_URL: sink.url, APP_URL: 'http://hrsync.test', HRSYNC_QUEUE_PREFIX: `{hrsync-chaos-pg-${process.pid}}`, QUEUE_LOCK_MS: '10000' },
    });
    const { ctx, cluster } = env;
    log(`pg-restart-rollout: ${fmt(opts.users)} users, private PostgreSQL on port ${cluster.port}, private Redis, SMTP sink on ${sink.port}`);
    // The worker process starts (it takes a while under tsx) while the users are synced.
    worker = spawnCli(['start', '--role', 'worker'], { ...env.env, LOG_LEVEL: 'warn' });
    let stdout = '';
    worker.child.stdout.on('data', (d) => (stdout += d));
    await writeExport(env.exportPath, sizeForActive(opts.users), false);
    const seed = await ctx.sync.run({ connectorId: CONNECTOR });
    if (seed.counts.created !== opts.users) throw new Error(`seed sync created ${seed.counts.created} of ${opts.users}`);
    await worker.waitFor('is running', 120_000);
    const rollout = await ctx.rollouts().create(ORG, { filter: { connector: CONNECTOR }, loginMethod: 'password' });
    log(`  rollout ${rollout.id} created; worker pid ${worker.child.pid}`);

    const outcomes: RolloutFaultOutcome[] = [];
    for (const fault of opts.faults) {
      const target = Math.floor(fault.at * opts.users);
      const waitEnd = Date.now() + 600_000;
      while (sink.stats.received < target) {
        if (Date.now() > waitEnd) throw new Error(`only ${sink.stats.received} of ${target} messages before fault ${outcomes.length + 1}`);
        if (worker.child.exitCode !== null) throw new Error(`the worker exited (${worker.child.exitCode}) before fault ${outcomes.length + 1}: ${worker.stderr().slice(-500)}`);
        await sleep(10);
      }
      const sendingAtFault = await count(ctx, `select count(*) as n from invitations where rollout_id = ? and status = 'sending'`, [rollout.id]).catch(() => -1);
      const receivedAtFault = sink.stats.received;
      const { stoppedAt, upAt } = await cluster.restart({ mode: fault.mode, downMs: fault.downMs });
      // Work is going on again when an invitation is recorded sent after the server came back.
      let recoveryMs: number | null = null;
      const end = Date.now() + 300_000;
      while (recoveryMs === null && Date.now() < end) {
        const r = await sqlOne<{ t: Date | null; left: string }>(
          ctx.em(),
          `select min(sent_at) as t, (select count(*) from invitations where rollout_id = ? and status in ('pending', 'sending')) as left
             from invitations where rollout_id = ? and sent_at >= ?`,
          [rollout.id, rollout.id, new Date(upAt)],
        ).catch(() => null);
        if (r?.t) recoveryMs = new Date(r.t).getTime() - stoppedAt;
        else if (r && Number(r.left) === 0) break; // nothing was left to send
        else await sleep(100);
      }
      outcomes.push({ fault, receivedAtFault, sendingAtFault, recoveryMs });
      log(`  fault ${outcomes.length}: ${fault.mode} restart after ${fmt(receivedAtFault)} messages (${sendingAtFault} in flight), down ${secs(upAt - stoppedAt)} s; sending again ${recoveryMs === null ? 'never seen' : `${secs(recoveryMs)} s`} after the fault`);
    }

    const endAt = Date.now() + 900_000;
    let status = '';
    for (;;) {
      const r = await sqlOne<{ status: string }>(ctx.em(), `select status from rollouts where id = ?`, [rollout.id]).catch(() => null);
      status = r?.status ?? status;
      if (status === 'completed' || status === 'failed' || status === 'cancelled') break;
      if (Date.now() > endAt) break;
      if (worker.child.exitCode !== null) break;
      await sleep(200);
    }
    // Late duplicates (a retried chunk) would arrive right away; give the sink a moment.
    await sleep(500);
    drain();
    const workerAlive = worker.child.exitCode === null;
    const record = (await ctx.rollouts().get(rollout.id))!;
    const received = [...byRecipient.values()].reduce((a, b) => a + b, 0);
    const uniqueRecipients = byRecipient.size;
    const lost = opts.users - uniqueRecipients;
    const duplicates = received - uniqueRecipients;
    const duplicateBound = opts.faults.length * concurrency * chunkSize;
    const invited = await count(ctx, `select count(*) as n from users where access = 'invited'`);
    // Every link anyone received must work: the one token each sent invitation holds.
    const stored = await sql<{ email: string; token_hash: string | null }>(ctx.em(), `select lower(u.email) as email, i.token_hash from invitations i join users u on u.id = i.user_id where i.rollout_id = ? and i.status = 'sent'`, [rollout.id]);
    const deadLinks = stored.reduce((a, r) => a + countDeadLinks(hashesOf.get(r.email), r.token_hash), 0);
    const invariants = await checkInvariants(ctx.em(), { lockMs: 10_000, graceMs: 15_000 });
    // Both streams: a library printing on stdout would bypass the logger's redaction.
    const lines = `${worker.stderr()}\n${stdout}`.split('\n').filter(Boolean);
    const leakyLogLines = lines.filter((l) => /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}/.test(l)).length;
    const warnings = [...new Set(lines.map((l) => {
      try {
        const j = JSON.parse(l) as { msg?: string; err?: string | { message?: string } };
        const e = typeof j.err === 'string' ? j.err : j.err?.message;
        return `${j.msg ?? ''}${e ? `: ${String(e).slice(0, 100)}` : ''}`;
      } catch {
        return l.slice(0, 120);
      }
    }))].slice(0, 12);
    log(`  rollout ${status}: counts ${JSON.stringify(record.counts)}; sink received ${fmt(received)} messages for ${fmt(uniqueRecipients)} recipients (lost ${lost}, duplicates ${duplicates}, bound ${duplicateBound}, dead links ${deadLinks}); ${fmt(invited)} users invited; worker ${workerAlive ? 'alive' : `exited ${worker.child.exitCode}`}`);
    log(`  invariants: ${formatInvariantReport(invariants)}; worker log lines ${lines.length}, with an e-mail address ${leakyLogLines}`);
    if (warnings.length) log(`  worker warnings: ${warnings.join(' | ')}`);

    const seconds = secs(Date.now() - t0);
    const recoveries = outcomes.map((o) => o.recoveryMs).filter((x): x is number => x !== null);
    const violations = invariants.violations + leakyLogLines + (workerAlive ? 0 : 1);
    const result: ChaosResult = {
      table: TABLE,
      scenario: `${fmt(opts.users)}-invitation rollout sent by a worker process, PostgreSQL restarted at ${opts.faults.map((f) => `${Math.round(f.at * 100)}% (${f.mode}${f.downMs ? `, down ${secs(f.downMs)} s` : ''})`).join(', ')} of the messages`,
      faults: opts.faults.length,
      expected: opts.users,
      lost,
      duplicated: duplicates,
      duplicateBound,
      deadLinks,
      violations,
      recoverySeconds: recoveries.length ? secs(Math.max(...recoveries)) : null,
      seconds,
      ok: lost === 0 && violations === 0 && deadLinks === 0 && duplicates <= duplicateBound && status === 'completed',
      notes: `rollout ${status}; sent ${record.counts.sent}, failed ${record.counts.failed}; dead links ${deadLinks}; in flight at the faults: ${outcomes.map((o) => o.sendingAtFault).join(', ')}; recovery per fault: ${outcomes.map((o) => (o.recoveryMs === null ? 'n/a' : `${secs(o.recoveryMs)} s`)).join(', ')}; worker ${workerAlive ? 'survived' : 'died'}${leakyLogLines ? `; ${leakyLogLines} log lines with e-mail addresses` : ''}`,
    };
    return {
      users: opts.users,
      rolloutStatus: status,
      counts: record.counts,
      received,
      uniqueRecipients,
      lost,
      duplicates,
      duplicateBound,
      faults: outcomes,
      workerAlive,
      leakyLogLines,
      workerWarnings: warnings,
      invariants,
      seconds,
      result,
    };
  } finally {
    clearInterval(drainer);
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      await Promise.race([worker.exited, sleep(15_000)]);
      if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    }
    await env?.close();
    await sink.close();
    await redis.stop();
  }
}

// ---- the scenarios ----------------------------------------------------------------------------------

export const SYNC_FAULTS: Record<'quick' | 'full', { rows: number; batchSize: number; faults: PgFault[] }> = {
  quick: { rows: 5_000, batchSize: 500, faults: [{ at: 0.4, mode: 'fast' }, { at: 1, mode: 'immediate' }] },
  full: { rows: 200_000, batchSize: 2_000, faults: [{ at: 0.2, mode: 'fast' }, { at: 0.6, mode: 'immediate', downMs: 3_000 }, { at: 1, mode: 'fast' }] },
};

export const ROLLOUT_FAULTS: Record<'quick' | 'full', { users: number; ratePerSecond: number; faults: PgFault[] }> = {
  quick: { users: 600, ratePerSecond: 150, faults: [{ at: 0.35, mode: 'fast' }] },
  full: { users: 20_000, ratePerSecond: 0, faults: [{ at: 0.25, mode: 'fast' }, { at: 0.55, mode: 'immediate', downMs: 5_000 }, { at: 0.85, mode: 'fast' }] },
};

export const scenarios: ChaosScenario[] = [
  {
    name: 'pg-restart-sync',
    table: TABLE,
    async run({ quick, log }) {
      const s = SYNC_FAULTS[quick ? 'quick' : 'full'];
      return [(await pgRestartMidSync({ ...s, log })).result];
    },
  },
  {
    name: 'pg-restart-rollout',
    table: TABLE,
    async run({ quick, log }) {
      const s = ROLLOUT_FAULTS[quick ? 'quick' : 'full'];
      return [(await pgRestartMidRollout({ ...s, log })).result];
    },
  },
];

