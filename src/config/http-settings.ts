import { isIP } from 'node:net';

/** The HTTP face's settings from the environment: proxies, cookies, metrics, limits. */
export interface HttpSettings {
  /**
   * fastify's `trustProxy`: false (the peer is the client), true (trust every proxy — only
   * behind one that overwrites X-Forwarded-For), a hop count, or the proxies' addresses/CIDRs.
   */
  readonly trustProxy: boolean | number | readonly string[];
  /** Cookies carry `Secure`: derived from an https APP_URL, not a switch of its own. */
  readonly cookieSecure: boolean;
  /** A bearer token for /metrics (else the admin token). */
  readonly metricsToken: string | null;
  /** Serve /metrics on this port only (open there; keep it internal), not on the API port. */
  readonly metricsPort: number | null;
  /** How often the domain gauges (table counts, queue depths) are recomputed. */
  readonly metricsRefreshMs: number;
  /** Failed authentications per client IP in `authFailWindowSeconds` before 429s. */
  readonly authFailLimit: number;
  readonly authFailWindowSeconds: number;
  /** Per token on bulk routes (rollouts, sync triggers, exports): requests per minute, and at once. */
  readonly bulkPerMinute: number;
  readonly bulkConcurrency: number;
  /** Bulk requests at once in one process, all tokens together (what its memory holds: a 200,000-id body parses to ~100 MB). */
  readonly bulkConcurrencyTotal: number;
}

export const MIN_ADMIN_TOKEN_LENGTH = 32;

export function parseTrustProxy(v: string | undefined): HttpSettings['trustProxy'] {
  const s = (v ?? '').trim();
  if (s === '' || s === 'false') return false;
  if (s === 'true') return true;
  if (/^\d+$/.test(s)) return Number(s);
  const parts = s.split(',').map((p) => p.trim()).filter(Boolean);
  const bad = parts.filter((p) => {
    const [addr, bits, ...rest] = p.split('/');
    if (rest.length || !isIP(addr)) return !['loopback', 'linklocal', 'uniquelocal'].includes(p);
    if (bits === undefined) return false;
    const max = isIP(addr) === 4 ? 32 : 128;
    return !/^\d+$/.test(bits) || Number(bits) > max;
  });
  if (bad.length || !parts.length) throw new Error(`TRUST_PROXY: expected true, false, a hop count or a comma-separated list of proxy IPs/CIDRs, got "${s}"`);
  return Object.freeze(parts);
}

/** Reads the settings; returns the problems (every one) instead of throwing. */
export function loadHttpSettings(env: Record<string, string | undefined>, appUrl: string): { settings: HttpSettings; problems: string[] } {
  const problems: string[] = [];
  const int = (name: string, dflt: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const v = env[name];
    if (v === undefined || v === '') return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      problems.push(`${name}: must be an integer from ${min} to ${max}, got "${v}"`);
      return dflt;
    }
    return n;
  };
  let trustProxy: HttpSettings['trustProxy'] = false;
  try {
    trustProxy = parseTrustProxy(env.TRUST_PROXY);
  } catch (err) {
    problems.push((err as Error).message);
  }
  const metricsToken = env.METRICS_TOKEN || null;
  if (metricsToken && metricsToken.length < MIN_ADMIN_TOKEN_LENGTH) problems.push(`METRICS_TOKEN: must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  const metricsPort = env.METRICS_PORT ? int('METRICS_PORT', 0, 1, 65535) : null;
  return {
    problems,
    settings: {
      trustProxy,
      cookieSecure: /^https:/i.test(appUrl),
      metricsToken,
      metricsPort: metricsPort || null,
      metricsRefreshMs: int('METRICS_REFRESH_SECONDS', 30, 1, 86_400) * 1000,
      authFailLimit: int('AUTH_FAIL_LIMIT', 20, 1),
      authFailWindowSeconds: int('AUTH_FAIL_WINDOW_SECONDS', 300, 1, 86_400),
      bulkPerMinute: int('BULK_PER_MINUTE', 20, 1),
      bulkConcurrency: int('BULK_CONCURRENCY', 2, 1),
      bulkConcurrencyTotal: int('BULK_CONCURRENCY_TOTAL', 4, 1),
    },
  };
}
