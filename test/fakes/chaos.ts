import type { Fault, FakeRequest, FaultSchedule } from './fake-server.js';

/**
 * Seeded fault schedules for the fake vendor servers (`fake.chaos(schedule)`): the same seed
 * plays the same faults on the same requests, so a chaos run that finds something can be
 * replayed. Used by bench/chaos/hr-api.ts and test/chaos/hr-api.int.test.ts.
 */

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The logical request a request is: its retries share the key (method, path, query, body). */
export function requestKey(req: FakeRequest): string {
  return `${req.method} ${req.path}?${req.query.toString()} ${req.rawBody}`;
}

/**
 * Numbers the logical requests in the order they first arrive (1-based) and counts the attempts
 * of each: what a schedule needs to hit "the 3rd page, first attempt" whatever came before.
 */
export class RequestTracker {
  private readonly ordinals = new Map<string, number>();
  private readonly attempts = new Map<string, number>();

  /** Call once per request: its logical ordinal and which attempt this is (1-based). */
  see(req: FakeRequest): { ordinal: number; attempt: number } {
    const key = requestKey(req);
    let ordinal = this.ordinals.get(key);
    if (ordinal === undefined) {
      ordinal = this.ordinals.size + 1;
      this.ordinals.set(key, ordinal);
    }
    const attempt = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, attempt);
    return { ordinal, attempt };
  }
}

/** Every logical request matching `when` gets `fault` on its first `times` attempts, then goes through. */
export function stormSchedule(fault: Fault, times: number, when: (req: FakeRequest) => boolean = () => true): FaultSchedule {
  const tracker = new RequestTracker();
  return (req) => {
    if (!when(req)) return null;
    return tracker.see(req).attempt <= times ? fault : null;
  };
}

/**
 * Per logical request (1-based ordinal, in order of arrival): the faults its first attempts get,
 * one per attempt. `{ 2: [500, 502, 503, 504] }` → the 2nd request fails four times, then passes.
 */
export function perRequestSchedule(
  plan: (ordinal: number, req: FakeRequest) => Fault[] | null | undefined,
): FaultSchedule {
  const tracker = new RequestTracker();
  return (req) => {
    const { ordinal, attempt } = tracker.see(req);
    const faults = plan(ordinal, req);
    return faults?.[attempt - 1] ?? null;
  };
}

/** One entry of a random mix: `make` returns the fault for this request, or null when it does not apply to it. */
export interface MixEntry {
  name: string;
  weight: number;
  make: (req: FakeRequest, random: () => number) => Fault | null;
}

/**
 * A seeded random mix: each request draws a fault with probability `rate`, the kind chosen by
 * weight among the entries (an entry that does not apply to the request plays no fault).
 * `played` counts what was played, by entry name.
 */
export function randomSchedule(opts: { seed: number; rate: number; mix: MixEntry[] }): FaultSchedule & { played: Record<string, number> } {
  const random = seededRandom(opts.seed);
  const total = opts.mix.reduce((a, e) => a + e.weight, 0);
  const played: Record<string, number> = {};
  const schedule: FaultSchedule = (req) => {
    if (random() >= opts.rate) return null;
    let pick = random() * total;
    const entry = opts.mix.find((e) => (pick -= e.weight) < 0) ?? opts.mix[opts.mix.length - 1];
    const fault = entry.make(req, random);
    if (fault) played[entry.name] = (played[entry.name] ?? 0) + 1;
    return fault;
  };
  return Object.assign(schedule, { played });
}
