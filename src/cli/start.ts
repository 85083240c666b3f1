import cron from 'node-cron';
import Fastify from 'fastify';
import { startWorkers, type RunningWorkers } from '../../jobs/workers.js';
import { createContext } from '../app/context.js';
import { sqlOne } from '../db/sql.js';
import { errorMessage, isAppError } from '../lib/errors.js';
import { checkRedis } from '../lib/redis.js';

export type Role = 'all' | 'api' | 'worker' | 'scheduler';

/**
 * `hrsync start`: opens the store (creating and migrating the database), checks Redis,
 * then runs the parts of the service this process's role includes:
 * - worker: the queue workers (rollout triggers, invitation batches) and the reconciler;
 * - scheduler: a first sync of connectors that never synced, then each on its schedule;
 * - api: the HTTP endpoints.
 * Stops on SIGTERM/SIGINT: no new jobs, running ones finish within the grace period.
 */
export async function runStart(role: Role): Promise<void> {
  const ctx = await createContext();
  const { config, log } = ctx;
  try {
    await checkRedis(config.redisUrl);
  } catch (err) {
    await ctx.close();
    throw err;
  }
  const has = (r: Role) => role === 'all' || role === r;
  log.info({ role, config: config.source, organizations: config.organizations.length }, 'hrsync starting');
  let workers: RunningWorkers | null = null;
  if (has('worker')) workers = await startWorkers(ctx);

  const runOne = async (connectorId: string, trigger: 'manual' | 'schedule') => {
    try {
      const run = await ctx.sync.run({ connectorId, trigger });
      log.info({ runId: run.id, connectorId, status: run.status, counts: run.counts }, 'sync run recorded');
    } catch (err) {
      if (isAppError(err) && (err.code === 'connector_busy' || err.code === 'connector_held')) log.warn({ connectorId, reason: err.message }, 'sync skipped');
      else log.error({ connectorId, err: errorMessage(err) }, 'sync could not run');
    }
  };

  const tasks: Array<{ stop(): void | Promise<void> }> = [];
  if (has('scheduler')) {
    for (const org of config.organizations) {
      for (const c of org.connectors) {
        const last = await sqlOne(ctx.em(), `select 1 from sync_runs where connector_id = ? and status in ('succeeded', 'approved', 'needs_approval') and not dry_run limit 1`, [c.id]);
        if (!last) await runOne(c.id, 'manual');
        if (c.schedule) {
          tasks.push(cron.schedule(c.schedule, () => void runOne(c.id, 'schedule'), { timezone: c.timezone, name: `sync:${c.id}`, noOverlap: true }));
          log.info({ connectorId: c.id, schedule: c.schedule, timezone: c.timezone ?? 'local' }, 'sync scheduled');
        }
      }
    }
  }

  let app: { close(): Promise<unknown> } | null = null;
  if (has('api')) {
    const server = Fastify({ logger: false });
    app = server;
    server.get('/healthz', async () => ({ status: 'ok' }));
    server.get('/readyz', async (_req, reply) => {
      const checks: Record<string, string> = {};
      try {
        await ctx.em().getConnection().execute('select 1');
        checks.postgres = 'ok';
      } catch (err) {
        checks.postgres = errorMessage(err);
      }
      try {
        await checkRedis(config.redisUrl, 1_000);
        checks.redis = 'ok';
      } catch {
        checks.redis = 'unreachable';
      }
      const ok = Object.values(checks).every((v) => v === 'ok');
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks });
    });
    await server.listen({ port: config.port, host: process.env.HOST ?? '127.0.0.1' });
    log.info({ port: config.port }, 'listening');
    process.stderr.write(`hrsync is running on http://127.0.0.1:${config.port} (health: /healthz, /readyz). Ctrl-C to stop.\n`);
  } else {
    process.stderr.write(`hrsync ${role} is running. Ctrl-C to stop.\n`);
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  const graceMs = Number(process.env.SHUTDOWN_GRACE_MS ?? 25_000);
  for (const t of tasks) await t.stop();
  await app?.close();
  await workers?.close(graceMs);
  await ctx.close();
  log.info('stopped');
}
