import type { Redis } from 'ioredis';

/**
 * A send quota shared by every worker process: at most `perSecond` messages in each
 * wall-clock second, counted in Redis. `take(n)` waits for the next second when the
 * current one is used up.
 */
export function redisRateLimiter(redis: Redis, key: string, perSecond: number): (n: number) => Promise<void> {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return async () => {};
  return async function take(n: number): Promise<void> {
    for (;;) {
      const second = Math.floor(Date.now() / 1000);
      const k = `${key}:${second}`;
      const used = await redis.incrby(k, n);
      if (used === n) await redis.expire(k, 5);
      if (used <= perSecond || used - n < perSecond) return; // fits, or is the chunk that straddles the limit
      await new Promise((r) => setTimeout(r, (second + 1) * 1000 - Date.now() + 1));
    }
  };
}
