import { randomBytes } from 'node:crypto';
import { startScheduler } from '../../jobs/scheduler.js';
import { startWorkers, type RunningWorkers } from '../../jobs/workers.js';
import { TokenVerifier } from '../auth/tokens.js';
import { createContext } from '../app/context.js';
import { readiness } from '../app/readiness.js';
import { loadConfig } from '../config/load.js';
import { sqlOne } from '../db/sql.js';
import { buildApp } from '../http/app.js';
import { buildHealthApp } from '../http/health-app.js';
import { AppError } from '../lib/errors.js';
import { checkRedis } from '../lib/redis.js';

export type Role = 'all' | 'api' | 'worker' | 'scheduler';

/**
 * `hrsync start`: opens the store (creating and migrating the database), checks Redis,
 * then runs the parts of the service this process's role includes:
 * - worker: the queue workers (syncs, rollout triggers, invitation batches) and the reconciler;
 * - scheduler: queues a first sync of connectors that never synced, then each on its schedule;
 * - api: the HTTP API, Bull Board at /admin/queues, health and metrics.
 * Stops on SIGTERM/SIGINT: no new jobs; running ones finish within the grace period.
 */
export async function runStart(role: Role): Promise<void> {
  let env = process.env;
  let generatedToken: string | null = null;
  if ((role === 'all' || role === 'api') && !env.HRSYNC_ADMIN_TOKEN) {
    // In production an operator sets the token; a generated one would be printed to a log.
    if (env.NODE_ENV === 'production') throw new AppError('config_invalid', 'HRSYNC_ADMIN_TOKEN is not set: in production (NODE_ENV=production) set it to a secret of at least 32 characters (openssl rand -base64 32)');
    generatedToken = randomBytes(24).toString('base64url');
    env = { ...env, HRSYNC_ADMIN_TOKEN: generatedToken };
  }
  const ctx = await createContext({ config: loadConfig(env) });
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

  let scheduler: { stop(): Promise<void> } | null = null;
  if (has('scheduler')) {
    for (const org of config.organizations) {
      for (const c of org.connectors) {
        const ran = await sqlOne(ctx.em(), `select 1 from sync_runs where connector_id = ? and not dry_run and status <> 'skipped' limit 1`, [c.id]);
        if (!ran) {
          const { runId } = await ctx.enqueueSync({ connectorId: c.id, trigger: 'manual' });
          log.info({ connectorId: c.id, runId }, 'first sync queued');
        }
      }
    }
    scheduler = startScheduler({ config, queue: ctx.queues().sync, em: ctx.em, log, lifecycleQueue: ctx.queues().lifecycle });
  }

  let app: { close(): Promise<unknown> } | null = null;
  if (has('api')) {
    const server = await buildApp({
      config,
      log,
      em: ctx.em,
      sync: ctx.sync,
      rollouts: workers?.rollouts ?? ctx.rollouts(),
      rules: workers?.rules ?? ctx.rules(),
      queues: ctx.queues(),
      enqueueSync: ctx.enqueueSync,
      enqueueWebhookEvents: ctx.enqueueWebhookEvents,
      notifier: ctx.notifier,
      onFinished: ctx.onFinished,
      tokens: new TokenVerifier(ctx.em, config.adminToken),
      readiness: () => readiness(ctx.em, config.redisUrl),
    });
    app = server;
    const address = await server.listen({ port: config.port, host: process.env.HOST ?? '127.0.0.1' });
    log.info({ address }, 'listening');
    process.stderr.write(`hrsync is running on ${address} (dashboard /admin, API /api, queues /admin/queues, health /healthz). Ctrl-C to stop.\n`);
    if (generatedToken) {
      process.stderr.write(`no HRSYNC_ADMIN_TOKEN was set: this run's admin token is ${generatedToken}\n`);
    }
  } else {
    // No API in this process: probes and metrics on HEALTH_PORT when asked (deploy/ sets it).
    if (process.env.HEALTH_PORT) {
      const health = await buildHealthApp({ em: ctx.em, queues: ctx.queues(), readiness: () => readiness(ctx.em, config.redisUrl) });
      app = health;
      const address = await health.listen({ port: Number(process.env.HEALTH_PORT), host: process.env.HOST ?? '127.0.0.1' });
      log.info({ address }, 'health endpoints listening');
    }
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
  await scheduler?.stop();
  await app?.close();
  await workers?.close(graceMs);
  await ctx.close();
  log.info('stopped');
}
