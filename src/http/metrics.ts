import type { EntityManager } from '@mikro-orm/postgresql';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import { sql } from '../db/sql.js';
import { errorMessage } from '../lib/errors.js';

export interface Metrics {
  registry: Registry;
  observeHttp(route: string, method: string, status: number, seconds: number): void;
  /** The Prometheus text: process metrics, HTTP latency, and the domain figures of the last refresh. */
  render(): Promise<string>;
  /** Reads the domain figures (table counts, queue depths, run durations) now. */
  refresh(): Promise<void>;
  /** Reads the figures once (resolves then), and again every `refreshMs` until stop(): a scrape never counts a table. */
  start(refreshMs: number): Promise<void>;
  stop(): void;
}

const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

type Deps = { em(): EntityManager; queues: { sync: Queue; rollouts: Queue; invitations: Queue }; log?: { warn(obj: object, msg: string): void } };

/**
 * Domain figures come from PostgreSQL and Redis, so every replica reports the same totals
 * however the work was spread over processes. They are read on a timer, not per scrape:
 * counting 1M invitations for each of 50 parallel scrapes slowed every tenant's API.
 */
export function createMetrics(deps: Deps): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hrsync_process_' });
  const http = new Histogram({
    name: 'hrsync_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const syncRuns = new Gauge({ name: 'hrsync_sync_runs', help: 'Sync runs by status', labelNames: ['status'], registers: [registry] });
  const syncRecords = new Gauge({
    name: 'hrsync_sync_records',
    help: 'HR records handled by sync runs, by outcome (created, updated, unchanged, deactivated, reactivated, rejected, skipped)',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const invitations = new Gauge({ name: 'hrsync_invitations', help: 'Invitations by state', labelNames: ['state'], registers: [registry] });
  const queueJobs = new Gauge({ name: 'hrsync_queue_jobs', help: 'Jobs in each queue by state', labelNames: ['queue', 'state'], registers: [registry] });
  const refreshedAt = new Gauge({ name: 'hrsync_metrics_refreshed_seconds', help: 'When the domain figures were last read (unix time)', registers: [registry] });

  async function readAll(): Promise<{ runs: Array<{ status: string; n: string }>; records: Record<string, string>; invites: Array<{ status: string; n: string }>; queues: Array<[string, Record<string, number>]>; durations: string }> {
    const em = deps.em();
    const runs = await sql<{ status: string; n: string }>(em, `select status, count(*) as n from sync_runs where not dry_run group by status`);
    const records = (await sql<Record<string, string>>(
      em,
      `select coalesce(sum((counts->>'created')::bigint), 0) as created, coalesce(sum((counts->>'updated')::bigint), 0) as updated,
              coalesce(sum((counts->>'unchanged')::bigint), 0) as unchanged, coalesce(sum((counts->>'deactivated')::bigint), 0) as deactivated,
              coalesce(sum((counts->>'reactivated')::bigint), 0) as reactivated, coalesce(sum((counts->>'rejected')::bigint), 0) as rejected,
              coalesce(sum((counts->>'skipped')::bigint), 0) as skipped
         from sync_runs where not dry_run`,
    ))[0] ?? {};
    const invites = await sql<{ status: string; n: string }>(em, `select status, count(*) as n from invitations group by status`);
    const queues: Array<[string, Record<string, number>]> = [];
    for (const q of [deps.queues.sync, deps.queues.rollouts, deps.queues.invitations]) queues.push([q.name, await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized')]);
    return { runs, records, invites, queues, durations: await durationHistogram() };
  }

  let durations = '';
  let refreshing: Promise<void> | null = null;
  let timer: NodeJS.Timeout | null = null;

  async function refresh(): Promise<void> {
    // One refresh at a time; the gauges change all at once, after every figure was read.
    refreshing ??= readAll()
      .then((r) => {
        syncRuns.reset();
        for (const x of r.runs) syncRuns.set({ status: x.status }, Number(x.n));
        syncRecords.reset();
        for (const [k, v] of Object.entries(r.records)) syncRecords.set({ outcome: k }, Number(v));
        invitations.reset();
        for (const x of r.invites) invitations.set({ state: x.status }, Number(x.n));
        queueJobs.reset();
        for (const [queue, counts] of r.queues) for (const [state, n] of Object.entries(counts)) queueJobs.set({ queue, state }, n);
        durations = r.durations;
        refreshedAt.set(Date.now() / 1000);
      })
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  }

  /** Run durations as a histogram, from the store (finished, non-dry runs). */
  async function durationHistogram(): Promise<string> {    const cols = DURATION_BUCKETS.map((b, i) => `count(*) filter (where d <= ${b}) as b${i}`).join(', ');
    const rows = await sql<Record<string, string>>(
      deps.em(),
      `select ${cols}, count(*) as n, coalesce(sum(d), 0) as s
         from (select extract(epoch from finished_at - started_at) as d from sync_runs
                where finished_at is not null and not dry_run and status not in ('queued', 'skipped')) x`,
    );
    const r = rows[0] ?? {};
    const lines = ['# HELP hrsync_sync_run_duration_seconds Duration of sync runs', '# TYPE hrsync_sync_run_duration_seconds histogram'];
    DURATION_BUCKETS.forEach((b, i) => lines.push(`hrsync_sync_run_duration_seconds_bucket{le="${b}"} ${Number(r[`b${i}`] ?? 0)}`));
    lines.push(`hrsync_sync_run_duration_seconds_bucket{le="+Inf"} ${Number(r.n ?? 0)}`);
    lines.push(`hrsync_sync_run_duration_seconds_sum ${Number(r.s ?? 0)}`);
    lines.push(`hrsync_sync_run_duration_seconds_count ${Number(r.n ?? 0)}`);
    return `${lines.join('\n')}\n`;
  }

  return {
    registry,
    observeHttp(route, method, status, seconds) {
      http.observe({ route, method, status: String(status) }, seconds);
    },
    async render() {
      return `${await registry.metrics()}\n${durations}`;
    },
    refresh,
    async start(refreshMs) {
      if (timer) return;
      const tick = () => refresh().catch((err: unknown) => deps.log?.warn({ err: errorMessage(err) }, 'metrics refresh failed'));
      timer = setInterval(() => void tick(), refreshMs);
      timer.unref();
      await tick();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}
