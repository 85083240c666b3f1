import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimited } from './errors.js';

/**
 * Failed authentication per client (the IP fastify derives, so TRUST_PROXY decides whether
 * X-Forwarded-For counts): after `limit` failures in the window every attempt from that
 * client gets a 429 — the right token too, or the 429 would tell a guess apart — until the
 * window ends. Counted in Redis (rate-limiter-flexible), so every replica shares the count;
 * while Redis is unreachable an in-process count stands in.
 */
export class AuthLimiter {
  private readonly limiter: RateLimiterRedis;

  constructor(redis: Redis, keyPrefix: string, readonly limit: number, windowSeconds: number) {
    this.limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix,
      points: limit,
      duration: windowSeconds,
      rejectIfRedisNotReady: true,
      insuranceLimiter: new RateLimiterMemory({ keyPrefix, points: limit, duration: windowSeconds }),
    });
  }

  /** Before checking a credential: refused while the client is over its limit. */
  async check(client: string): Promise<void> {
    const res = await this.limiter.get(client).catch(() => null);
    if (res && res.consumedPoints >= this.limit) throw rateLimited('too many failed sign-in attempts from this client; try again later', res.msBeforeNext);
  }

  /** After a wrong credential: counts it; the one that reaches the limit is refused already. */
  async fail(client: string): Promise<void> {
    try {
      await this.limiter.consume(client);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw rateLimited('too many failed sign-in attempts from this client; try again later', err.msBeforeNext);
      // Redis and its stand-in both failed: let the 401 stand.
    }
  }
}
