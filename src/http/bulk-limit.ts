import type { Redis } from 'ioredis';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DEFAULT_BODY_LIMIT } from './deps.js';
import { rateLimited } from './errors.js';

/** The bulk routes: a rollout's id list, a sync of a whole HR system, exports; and any route that takes a bulk body. */
export function isBulkRoute(route: Pick<RouteOptions, 'method' | 'url' | 'bodyLimit'>): boolean {
  const methods = ([] as string[]).concat(route.method);
  if (!route.url.startsWith('/api/')) return false;
  if (methods.includes('POST') && (route.url === '/api/rollouts' || route.url === '/api/connectors/:id/sync')) return true;
  if (/\/exports?(\/|$)/.test(route.url)) return true;
  return (route.bodyLimit ?? 0) > DEFAULT_BODY_LIMIT;
}

/**
 * Per-token limits on the bulk routes, checked before the body is read (a 16 MB id list is
 * not parsed to be refused): at most `perMinute` requests a minute (counted in Redis, shared
 * by the replicas) and `concurrency` at once in this process (what a process can hold in
 * memory is its own), and `concurrencyTotal` at once in this process for all tokens together
 * (eight organizations' tokens can hold as much memory as one token's eight). Over any:
 * 429 with Retry-After.
 */
export function registerBulkLimits(app: FastifyInstance, redis: Redis, opts: { keyPrefix: string; perMinute: number; concurrency: number; concurrencyTotal: number }): void {
  const rate = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: opts.keyPrefix,
    points: opts.perMinute,
    duration: 60,
    rejectIfRedisNotReady: true,
    insuranceLimiter: new RateLimiterMemory({ keyPrefix: opts.keyPrefix, points: opts.perMinute, duration: 60 }),
  });
  const running = new Map<string, number>();
  let total = 0;
  const releases = new WeakMap<FastifyRequest, () => void>();

  async function limit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const p = request.principal;
    if (!p) return; // the auth hook answered already
    const key = p.kind === 'admin' ? 'admin' : `token:${p.tokenId}`;
    const now = running.get(key) ?? 0;
    if (now >= opts.concurrency) throw rateLimited(`at most ${opts.concurrency} bulk requests at once per token; wait for one to finish`, 1000);
    if (total >= opts.concurrencyTotal) throw rateLimited('the service is busy with other bulk requests; try again in a moment', 1000);
    // The slot is taken before the first await, so two requests at once cannot both pass the checks.
    running.set(key, now + 1);
    total++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      total--;
      const n = (running.get(key) ?? 1) - 1;
      if (n <= 0) running.delete(key);
      else running.set(key, n);
    };
    try {
      await rate.consume(key);
    } catch (err) {
      release();
      if (err instanceof RateLimiterRes) throw rateLimited(`at most ${opts.perMinute} bulk requests a minute per token`, err.msBeforeNext);
      throw err;
    }
    releases.set(request, release);
    // Answered (onResponse), or the client went away first (the socket closes).
    reply.raw.once('close', release);
  }

  async function done(request: FastifyRequest): Promise<void> {
    releases.get(request)?.();
  }

  app.addHook('onRoute', (route) => {
    if (!isBulkRoute(route)) return;
    const existing = route.onRequest ? ([] as unknown[]).concat(route.onRequest) : [];
    route.onRequest = [...existing, limit] as RouteOptions['onRequest'];
    const after = route.onResponse ? ([] as unknown[]).concat(route.onResponse) : [];
    route.onResponse = [...after, done] as RouteOptions['onResponse'];
  });
}
