import { isAppError } from '../lib/errors.js';

/** SQLSTATEs and socket errors of a server that is down, restarting or dropped the connection. */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN',
  '57P01', // admin_shutdown: terminating connection due to administrator command
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the database system is starting up / shutting down / in recovery
  '08000', '08001', '08003', '08004', '08006', // connection exceptions
  '53300', // too_many_connections
]);

const UNAVAILABLE_MESSAGE = /Connection terminated|Connection ended unexpectedly|terminating connection|Timeout acquiring a connection|the database system is (starting up|shutting down|in recovery)|Client has encountered a connection error/i;

/**
 * Whether an error means the database server cannot be reached right now (down,
 * restarting, the connection dropped) — worth trying again once it is back — rather than
 * a statement that is wrong and will fail again.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (isAppError(e) && e.code === 'database_unreachable') return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (e instanceof Error && (e.name === 'ConnectionException' || UNAVAILABLE_MESSAGE.test(e.message))) return true;
  }
  return false;
}

/**
 * Runs `fn` until it succeeds, as long as the failures are the database being away, for at
 * most `timeoutMs`; any other error is thrown at once. For the few writes that must not be
 * lost to a restart (a run's final record).
 */
export async function whenDatabaseIsBack<T>(fn: () => Promise<T>, opts: { timeoutMs?: number; stepMs?: number; onRetry?: (err: unknown) => void } = {}): Promise<T> {
  const end = Date.now() + (opts.timeoutMs ?? 60_000);
  let step = opts.stepMs ?? 250;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() + step > end) throw err;
      opts.onRetry?.(err);
      await new Promise((r) => setTimeout(r, step));
      step = Math.min(step * 2, 2_000);
    }
  }
}
