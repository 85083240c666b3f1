import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { sql, sqlOne } from '../db/sql.js';
import { AppError } from '../lib/errors.js';

/** Who is calling: the admin (all organizations) or one organization's token. */
export type Principal = { kind: 'admin' } | { kind: 'organization'; organizationId: string; tokenId: string };

const PREFIX = 'hrs_';

/** What a token may be used for: the /api routes, and/or the organization's SCIM 2.0 endpoint (/scim/v2). */
export const TOKEN_SCOPES = ['api', 'scim'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export interface TokenRecord {
  id: string;
  organizationId: string;
  name: string | null;
  hint: string;
  scopes: string[];
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Creates an organization token. The token is returned once, in the clear; only its hash is stored. */
export async function createToken(em: EntityManager, organizationId: string, name?: string, scopes: readonly TokenScope[] = ['api']): Promise<{ token: string; record: TokenRecord }> {
  if (scopes.length === 0 || scopes.some((s) => !TOKEN_SCOPES.includes(s))) throw new AppError('validation_failed', `scope: one or more of ${TOKEN_SCOPES.join(', ')}`);
  const org = await sqlOne(em, `select 1 from organizations where id = ?`, [organizationId]);
  if (!org) throw new AppError('organization_not_found', `no organization "${organizationId}"`);
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const row = await sqlOne<TokenRow>(
    em,
    `insert into api_tokens (organization_id, name, token_hash, hint, scopes) values (?, ?, ?, ?, ?::text[]) returning *`,
    [organizationId, name ?? null, sha256(token).toString('hex'), `${token.slice(0, 8)}…`, `{${[...new Set(scopes)].join(',')}}`],
  );
  return { token, record: toRecord(row!) };
}

export async function revokeToken(em: EntityManager, id: string): Promise<TokenRecord> {
  const row = /^[0-9a-f-]{36}$/i.test(id) ? await sqlOne<TokenRow>(em, `update api_tokens set revoked_at = coalesce(revoked_at, now()) where id = ? returning *`, [id]) : null;
  if (!row) throw new AppError('not_found', `no token ${id}`);
  return toRecord(row);
}

export async function listTokens(em: EntityManager, organizationId?: string): Promise<TokenRecord[]> {
  const rows = await sql<TokenRow>(em, `select * from api_tokens${organizationId ? ' where organization_id = ?' : ''} order by created_at`, organizationId ? [organizationId] : []);
  return rows.map(toRecord);
}

interface TokenRow {
  id: string;
  organization_id: string;
  name: string | null;
  hint: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

function toRecord(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    organizationId: r.organization_id,
    name: r.name,
    hint: r.hint,
    scopes: r.scopes ?? ['api'],
    createdAt: new Date(r.created_at).toISOString(),
    lastUsedAt: r.last_used_at ? new Date(r.last_used_at).toISOString() : null,
    revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  };
}

/**
 * Resolves a bearer token to a principal, or null. The admin token is compared in constant
 * time (on digests, so lengths do not leak); organization tokens are found by their hash.
 */
export class TokenVerifier {
  private readonly adminDigest: Buffer | null;
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();

  /** `scope`: which tokens this verifier accepts (the /api routes use `api` tokens; /scim/v2 `scim` ones, and no admin token). */
  constructor(private readonly em: () => EntityManager, adminToken: string | null, private readonly cacheMs = 5_000, private readonly scope: TokenScope = 'api') {
    this.adminDigest = adminToken ? sha256(adminToken) : null;
  }

  async verify(token: string | undefined | null): Promise<Principal | null> {
    if (!token || token.length > 200) return null;
    const digest = sha256(token);
    if (this.adminDigest && timingSafeEqual(digest, this.adminDigest)) return { kind: 'admin' };
    if (!token.startsWith(PREFIX)) return null;
    const key = digest.toString('hex');
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    const row = await sqlOne<{ id: string; organization_id: string }>(
      this.em(),
      `update api_tokens set last_used_at = now() where token_hash = ? and revoked_at is null and ? = any(scopes) returning id, organization_id`,
      [key, this.scope],
    );
    const principal: Principal | null = row ? { kind: 'organization', organizationId: row.organization_id, tokenId: row.id } : null;
    // A short cache: a revoked token stops working within cacheMs.
    this.cache.set(key, { principal, until: Date.now() + this.cacheMs });
    if (this.cache.size > 10_000) this.cache.clear();
    return principal;
  }
}
