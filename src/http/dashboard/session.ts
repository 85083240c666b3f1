import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Dashboard sessions: a signed cookie (HMAC-SHA256), no server-side state. The key is
 * derived from the admin token, so every API replica accepts the same cookie and rotating
 * the admin token signs everybody out; without an admin token a per-process key is used.
 * The cookie names the principal (admin, or an organization token by id — never the token
 * itself), the session's CSRF token and its expiry.
 */
export type DashboardPrincipal = { kind: 'admin' } | { kind: 'organization'; organizationId: string; tokenId: string };

export interface Session {
  principal: DashboardPrincipal;
  /** The per-session CSRF token every form posts back in `_csrf`. */
  csrf: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export const SESSION_COOKIE = 'hrsync_session';
/** Before sign-in: a double-submit token for the sign-in form (login CSRF). */
export const SIGN_IN_COOKIE = 'hrsync_sign_in';
export const SESSION_TTL_MS = 12 * 3_600_000;

interface Payload {
  v: 1;
  k: 'a' | 'o';
  o?: string;
  t?: string;
  c: string;
  e: number;
}

export class SessionCodec {
  private readonly key: Buffer;

  constructor(adminToken: string | null) {
    this.key = adminToken ? createHmac('sha256', adminToken).update('hrsync dashboard session v1').digest() : randomBytes(32);
  }

  private sign(data: string): string {
    return createHmac('sha256', this.key).update(data).digest('base64url');
  }

  create(principal: DashboardPrincipal, now = Date.now()): Session {
    return { principal, csrf: randomToken(), exp: now + SESSION_TTL_MS };
  }

  encode(s: Session): string {
    const p: Payload = s.principal.kind === 'admin'
      ? { v: 1, k: 'a', c: s.csrf, e: s.exp }
      : { v: 1, k: 'o', o: s.principal.organizationId, t: s.principal.tokenId, c: s.csrf, e: s.exp };
    const data = Buffer.from(JSON.stringify(p)).toString('base64url');
    return `${data}.${this.sign(data)}`;
  }

  decode(value: string | undefined, now = Date.now()): Session | null {
    if (!value || value.length > 1024) return null;
    const dot = value.indexOf('.');
    if (dot <= 0) return null;
    const data = value.slice(0, dot);
    if (!safeEqual(value.slice(dot + 1), this.sign(data))) return null;
    let p: Payload;
    try {
      p = JSON.parse(Buffer.from(data, 'base64url').toString('utf8')) as Payload;
    } catch {
      return null;
    }
    if (p?.v !== 1 || typeof p.c !== 'string' || typeof p.e !== 'number' || p.e <= now) return null;
    if (p.k === 'a') return { principal: { kind: 'admin' }, csrf: p.c, exp: p.e };
    if (p.k === 'o' && typeof p.o === 'string' && typeof p.t === 'string') {
      return { principal: { kind: 'organization', organizationId: p.o, tokenId: p.t }, csrf: p.c, exp: p.e };
    }
    return null;
  }
}

export function randomToken(): string {
  return randomBytes(18).toString('base64url');
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (!name || name in out) continue;
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

export function serializeCookie(name: string, value: string, opts: { path: string; maxAgeSeconds?: number; secure: boolean; sameSite?: 'Lax' | 'Strict' }): string {
  const parts = [`${name}=${encodeURIComponent(value)}`, `Path=${opts.path}`, 'HttpOnly', `SameSite=${opts.sameSite ?? 'Lax'}`];
  if (opts.maxAgeSeconds !== undefined) parts.push(`Max-Age=${Math.max(0, Math.floor(opts.maxAgeSeconds))}`);
  if (opts.maxAgeSeconds === 0) parts.push('Expires=Thu, 01 Jan 1970 00:00:00 GMT');
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}
