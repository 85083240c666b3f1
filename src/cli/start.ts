import cron from 'node-cron';
import Fastify from 'fastify';
import { createContext } from '../app/context.js';
import { sqlOne } from '../db/sql.js';
import { errorMessage, isAppError } from '../lib/errors.js';
import { checkRedis } from '../lib/redis.js';

/**
 * `hrsync start`: opens the store (creating and migrating the database), checks Redis,
 * runs a first sync of every connector that never synced, then keeps each connector on
 * its schedule and serves health endpoints until SIGTERM/SIGINT.
 */
export async function runStart(role: 'all' | 'api' | 'worker' | 'scheduler'): Promise<void> {
  const ctx = await createContext();
  const { config, log } = ctx;
  try {
    await checkRedis(config.redisUrl);
  } catch (err) {
    await ctx.close();
    throw err;
  }
  log.info({ role, config: config.source, organizations: config.organizations.length }, 'hrsync starting');

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
  if (role === 'all' || role === 'worker' || role === 'scheduler') {
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

  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
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
  await app.listen({ port: config.port, host: process.env.HOST ?? '127.0.0.1' });
  log.info({ port: config.port }, 'listening');
  process.stderr.write(`hrsync is running on http://127.0.0.1:${config.port} (health: /healthz, /readyz). Ctrl-C to stop.\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  for (const t of tasks) await t.stop();
  await app.close();
  await ctx.close();
}
