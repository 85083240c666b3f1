import type { EntityManager } from '@mikro-orm/postgresql';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import { sql } from '../db/sql.js';

export interface Metrics {
  registry: Registry;
  observeHttp(route: string, method: string, status: number, seconds: number): void;
  /** The Prometheus text: process metrics, HTTP latency, and domain metrics read from the store and queues at scrape time. */
  render(): Promise<string>;
}

const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

/**
 * Domain figures come from PostgreSQL and Redis when scraped, so every replica reports the
 * same totals however the work was spread over processes.
 */
export function createMetrics(deps: { em(): EntityManager; queues: { sync: Queue; rollouts: Queue; invitations: Queue } }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'hrsync_process_' });
  const http = new Histogram({
    name: 'hrsync_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['route', 'method', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'hrsync_sync_runs',
    help: 'Sync runs by status',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await sql<{ status: string; n: string }>(deps.em(), `select status, count(*) as n from sync_runs where not dry_run group by status`)) this.set({ status: r.status }, Number(r.n));
    },
  });
  new Gauge({
    name: 'hrsync_sync_records',
    help: 'HR records handled by sync runs, by outcome (created, updated, unchanged, deactivated, reactivated, rejected, skipped)',
    labelNames: ['outcome'],
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await sql<Record<string, string>>(
        deps.em(),
        `select coalesce(sum((counts->>'created')::bigint), 0) as created, coalesce(sum((counts->>'updated')::bigint), 0) as updated,
                coalesce(sum((counts->>'unchanged')::bigint), 0) as unchanged, coalesce(sum((counts->>'deactivated')::bigint), 0) as deactivated,
                coalesce(sum((counts->>'reactivated')::bigint), 0) as reactivated, coalesce(sum((counts->>'rejected')::bigint), 0) as rejected,
                coalesce(sum((counts->>'skipped')::bigint), 0) as skipped
           from sync_runs where not dry_run`,
      );
      for (const [k, v] of Object.entries(rows[0] ?? {})) this.set({ outcome: k }, Number(v));
    },
  });
  new Gauge({
    name: 'hrsync_invitations',
    help: 'Invitations by state',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await sql<{ status: string; n: string }>(deps.em(), `select status, count(*) as n from invitations group by status`)) this.set({ state: r.status }, Number(r.n));
    },
  });
  new Gauge({
    name: 'hrsync_queue_jobs',
    help: 'Jobs in each queue by state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of [deps.queues.sync, deps.queues.rollouts, deps.queues.invitations]) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized');
        for (const [state, n] of Object.entries(counts)) this.set({ queue: q.name, state }, n);
      }
    },
  });

  /** Run durations as a histogram, from the store (finished, non-dry runs). */
  async function durationHistogram(): Promise<string> {
    const cols = DURATION_BUCKETS.map((b, i) => `count(*) filter (where d <= ${b}) as b${i}`).join(', ');
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
      return `${await registry.metrics()}\n${await durationHistogram()}`;
    },
  };
}
