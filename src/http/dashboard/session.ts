import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, sqlOne } from '../../db/sql.js';

/**
 * Dashboard sessions, kept server-side in PostgreSQL (table dashboard_sessions). The cookie
 * carries a random id (256 bits); the store keeps only its hash. Signing out deletes the row,
 * so an old cookie is refused at once; revoking an organization token ends its sessions;
 * an admin session is bound to the admin token's fingerprint, so a new admin token ends
 * every admin session. Admin sessions are shorter than organization sessions.
 */
export type DashboardPrincipal = { kind: 'admin' } | { kind: 'organization'; organizationId: string; tokenId: string };

export interface Session {
  /** The session's id as the cookie carries it (never logged). */
  id: string;
  principal: DashboardPrincipal;
  /** This request's CSRF token (from @fastify/csrf-protection, bound to the session), for the forms. */
  csrf: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export const SESSION_COOKIE = 'hrsync_session';
/** The CSRF secret's cookie (@fastify/csrf-protection): signed, HttpOnly, for the dashboard's path only. */
export const CSRF_COOKIE = 'hrsync_csrf';
export const SESSION_TTL_MS = 12 * 3_600_000;
export const ADMIN_SESSION_TTL_MS = 3_600_000;

export function sessionTtlMs(p: DashboardPrincipal): number {
  return p.kind === 'admin' ? ADMIN_SESSION_TTL_MS : SESSION_TTL_MS;
}

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

interface SessionRow {
  kind: 'admin' | 'organization';
  organization_id: string | null;
  token_id: string | null;
  expires_at: Date;
}

export class SessionStore {
  /** The admin token's fingerprint (a keyed hash: the token cannot be read back from it). */
  private readonly adminKey: string | null;

  constructor(private readonly em: () => EntityManager, adminToken: string | null) {
    this.adminKey = adminToken ? createHmac('sha256', adminToken).update('hrsync dashboard admin session v2').digest('hex') : null;
  }

  async create(principal: DashboardPrincipal, now = Date.now()): Promise<Session> {
    if (principal.kind === 'admin' && !this.adminKey) throw new Error('no admin token: no admin session');
    const id = randomBytes(32).toString('base64url');
    const exp = now + sessionTtlMs(principal);
    // Expired rows go as new ones come (the index on expires_at keeps this a short range scan).
    await sql(this.em(), `delete from dashboard_sessions where id_hash in (select id_hash from dashboard_sessions where expires_at < now() limit 100)`);
    await sql(
      this.em(),
      `insert into dashboard_sessions (id_hash, kind, organization_id, token_id, admin_key, expires_at) values (?, ?, ?, ?, ?, ?)`,
      principal.kind === 'admin'
        ? [sha256hex(id), 'admin', null, null, this.adminKey, new Date(exp)]
        : [sha256hex(id), 'organization', principal.organizationId, principal.tokenId, null, new Date(exp)],
    );
    return { id, principal, csrf: '', exp };
  }

  /** The live session the cookie names, or null: unknown, signed out, expired, or its token revoked or replaced. */
  async load(id: string | undefined): Promise<Session | null> {
    if (!id || id.length > 100 || !/^[A-Za-z0-9_-]+$/.test(id)) return null;
    const row = await sqlOne<SessionRow>(
      this.em(),
      `select s.kind, s.organization_id, s.token_id, s.expires_at
         from dashboard_sessions s left join api_tokens t on t.id = s.token_id
        where s.id_hash = ? and s.expires_at > now()
          and ((s.kind = 'admin' and s.admin_key = ?) or (s.kind = 'organization' and t.revoked_at is null and t.organization_id = s.organization_id))`,
      [sha256hex(id), this.adminKey ?? ''],
    );
    if (!row) return null;
    const principal: DashboardPrincipal = row.kind === 'admin' ? { kind: 'admin' } : { kind: 'organization', organizationId: row.organization_id!, tokenId: row.token_id! };
    return { id, principal, csrf: '', exp: new Date(row.expires_at).getTime() };
  }

  async revoke(id: string): Promise<void> {
    await sql(this.em(), `delete from dashboard_sessions where id_hash = ?`, [sha256hex(id)]);
  }
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db) && a.length === b.length;
}

/**
 * The key that signs the dashboard's cookies (the CSRF secret's): the same on every replica
 * (derived from the admin token), else per process.
 */
export function cookieSecret(adminToken: string | null): string {
  return adminToken ? createHmac('sha256', adminToken).update('hrsync dashboard cookies v2').digest('base64url') : randomBytes(32).toString('base64url');
}
