import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What hrsync needs of an HR system's webhooks: check a delivery's signature (the only
 * authentication of POST /hooks/<connectorId>) and read which people an event names.
 * Each vendor's implementation sits beside its connector (connectors/<vendor>/webhook.ts).
 */
export type Headers = Record<string, string | string[] | undefined>;

export type Verification = { ok: true; at: Date } | { ok: false; reason: 'missing_signature' | 'bad_signature' | 'no_timestamp' | 'stale' };

export interface WebhookEvent {
  externalId: string;
  /** 'deleted': the vendor says the person left or was removed (deactivated only once a look-up by id confirms it). */
  kind: 'changed' | 'deleted';
}

export interface VendorWebhook {
  vendor: string;
  verify(secret: string, raw: Buffer, headers: Headers, now: Date): Verification;
  /** The people a verified delivery names (none for events about other things). */
  events(body: unknown): WebhookEvent[];
}

/** How far a delivery's timestamp may be from now: older (a replay) or newer is refused. */
export const TOLERANCE_MS = 5 * 60_000;

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Constant-time comparison of a received signature with the expected one (same encoding). */
export function sameSignature(received: string, expected: string): boolean {
  const a = Buffer.from(received.trim());
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hmac(algorithm: 'sha256' | 'sha512', secret: string, ...parts: Array<Buffer | string>): Buffer {
  const h = createHmac(algorithm, secret);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** A timestamp as vendors send them: unix seconds or milliseconds, or an ISO 8601 date-time. */
export function parseTimestamp(v: unknown): Date | null {
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{9,13}$/.test(v.trim()))) {
    const n = Number(v);
    const d = new Date(n < 1e11 ? n * 1000 : n);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  if (typeof v === 'string' && v.length <= 64) {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

export function fresh(at: Date | null, now: Date): Verification {
  if (!at) return { ok: false, reason: 'no_timestamp' };
  return Math.abs(now.getTime() - at.getTime()) > TOLERANCE_MS ? { ok: false, reason: 'stale' } : { ok: true, at };
}

/** An id as vendors send them (string or number), or null. */
export function idOf(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'string' && v.trim() && v.length <= 255 && !v.includes('\u0000')) return v.trim();
  return null;
}
