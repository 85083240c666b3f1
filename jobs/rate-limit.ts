import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * The send quota shared by every worker process (provider quotas are per account, not per
 * process), counted in Redis with rate-limiter-flexible.
 *
 * No double bursts at window edges: a plain fixed window lets `perSecond` messages go at the
 * end of one second and `perSecond` more at the start of the next. Here time is cut into
 * slots aligned on the clock — `slotsPerSecond` of them, each with a quota of
 * `perSecond / slotsPerSecond` messages — and a chunk is released only at the *start* of a
 * slot it reserved. Any one-second span holds exactly `slotsPerSecond` slot starts, so it
 * never sees more than `perSecond` messages, however many processes send; and the sending
 * is spread over the second rather than bunched at its start.
 *
 * `take(n)` reserves room for a chunk of n messages (the batch sender's `rateLimit(n)`) in the
 * first slot ahead that has it, and waits until that slot starts. A chunk larger than a
 * slot's quota (chunk size above the limit) takes a whole empty slot.
 */
export interface SendRateOptions {
  /** The chunk size the sender asks for (invitations.chunkSize): slots are cut to hold whole chunks. */
  chunk?: number;
  /** How far ahead one call looks for room before it waits and looks again. */
  horizonMs?: number;
}

export interface SlotPlan {
  slotMs: number;
  quota: number;
}

/** Slots of whole chunks: as many per second as the rate allows (at most 20), each with the same quota. */
export function planSlots(perSecond: number, chunk: number): SlotPlan {
  const c = Math.max(1, Math.floor(chunk));
  if (perSecond < c) return { slotMs: Math.ceil((c * 1000) / perSecond), quota: c };
  const perSecondSlots = Math.min(20, Math.max(1, Math.floor(perSecond / c)));
  return { slotMs: 1000 / perSecondSlots, quota: Math.floor(perSecond / perSecondSlots) };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

export function redisRateLimiter(redis: Redis, key: string, perSecond: number, opts: SendRateOptions = {}): (n: number) => Promise<void> {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return async () => {};
  const { slotMs, quota } = planSlots(perSecond, opts.chunk ?? 1);
  const horizonMs = Math.max(opts.horizonMs ?? 10_000, slotMs * 2);
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    // the plan is in the key: processes configured alike share slots
    keyPrefix: `${key}:${slotMs}:${quota}`,
    points: quota,
    // a slot's count lives until the slot is well past (slots are reserved up to horizonMs ahead)
    duration: Math.ceil((horizonMs + slotMs) / 1000) + 2,
  });

  /** Room for n in slot i? Over the quota, the points go back (so a smaller chunk may still fit). */
  async function reserve(slot: number, n: number): Promise<boolean> {
    try {
      await limiter.consume(String(slot), n);
      return true;
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      if (n > quota && err.consumedPoints === n) return true; // an oversized chunk alone in its slot
      await limiter.reward(String(slot), n);
      return false;
    }
  }

  return async function take(n: number): Promise<void> {
    for (;;) {
      const first = Math.floor(Date.now() / slotMs) + 1; // the next slot start, ahead of now
      const last = first + Math.ceil(horizonMs / slotMs);
      for (let slot = first; slot <= last; slot++) {
        if (await reserve(slot, n)) {
          await sleep(slot * slotMs - Date.now());
          return;
        }
      }
      await sleep(horizonMs / 2);
    }
  };
}
