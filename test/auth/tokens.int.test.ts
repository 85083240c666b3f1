import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createToken, TokenVerifier } from '../../src/auth/tokens.js';
import { isAdmin } from '../../src/http/bull-board.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, tokenOf, waitFor, type TestService } from '../support/service.js';
import { employees } from '../support/store.js';

/**
 * The secrets hrsync hands out: invitation tokens and API tokens carry at least 128 bits of
 * randomness and are stored only as a SHA-256 hash (no column of any table, no Redis key,
 * holds the token); the admin token is compared in constant time.
 */

// timingSafeEqual, watched: every comparison of the admin token must go through it.
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:crypto')>();
  return { ...actual, timingSafeEqual: vi.fn(actual.timingSafeEqual) };
});
const timingSafeEqual = vi.mocked(crypto.timingSafeEqual);

let sink: SmtpSink;
let svc: TestService;

beforeAll(async () => {
  sink = await startSmtpSink();
  svc = await startTestService({ smtpUrl: sink.url, extraOrg: true });
});
afterAll(async () => {
  await svc?.close();
  await sink?.close();
});

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** The string with its last character changed (a fixed replacement equals the original when it already ends so: 1 run in 16 for hex). */
const otherLast = (s: string) => `${s.slice(0, -1)}${s.endsWith('0') ? '1' : '0'}`;

/** Every form a token could be stored in: as is, its bytes as hex, as standard base64. */
function formsOf(token: string): string[] {
  const raw = Buffer.from(token.replace(/^hrs_/, ''), 'base64url');
  return [token, raw.toString('hex'), raw.toString('base64').replace(/=+$/, '')];
}

/** Tables and columns (of all of them, as text) that contain any of the strings. */
async function whereStored(needles: string[]): Promise<string[]> {
  const tables = await svc.store.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
  expect(tables.map((t) => t.table_name)).toEqual(expect.arrayContaining(['invitations', 'api_tokens', 'users', 'rollouts']));
  const found: string[] = [];
  for (const { table_name } of tables) {
    const rows = await svc.store.query<Record<string, unknown>>(`select * from "${table_name}"`);
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : JSON.stringify(value) ?? '';
        if (needles.some((n) => text.includes(n))) found.push(`${table_name}.${column}`);
      }
    }
  }
  return found;
}

/** Every value of every Redis key of this test's queues, as one text. */
async function redisText(): Promise<string> {
  const r = new Redis(svc.redisUrl);
  try {
    const parts: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${svc.prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const k of keys) {
        const type = await r.type(k);
        if (type === 'string') parts.push(String(await r.get(k)));
        else if (type === 'hash') parts.push(JSON.stringify(await r.hgetall(k)));
        else if (type === 'list') parts.push(JSON.stringify(await r.lrange(k, 0, -1)));
        else if (type === 'set') parts.push(JSON.stringify(await r.smembers(k)));
        else if (type === 'zset') parts.push(JSON.stringify(await r.zrange(k, 0, -1)));
        else if (type === 'stream') parts.push(JSON.stringify(await r.xrange(k, '-', '+')));
      }
    } while (cursor !== '0');
    return parts.join('\n');
  } finally {
    r.disconnect();
  }
}

describe('invitation tokens', () => {
  it('carry at least 128 random bits, are stored only as their SHA-256 hash (no column, no Redis key holds one), and expire', async () => {
    await svc.sync(employees(12));
    const ids = await svc.userIds();
    const before = Date.now();
    const r = await svc.ctx.rollouts().create(svc.org, { userIds: ids, loginMethod: 'magic_link' });
    await sink.waitForMessages(12, 20_000);
    await waitFor(async () => (await svc.ctx.rollouts().get(r.id))?.status === 'completed', 20_000);
    const tokens = sink.messages.map((m) => tokenOf(m.text));

    for (const t of tokens) {
      expect(t).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(t, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    }
    expect(new Set(tokens).size).toBe(tokens.length);

    const rows = await svc.store.query<{ token_hash: string | null; expires_at: Date; status: string }>(`select token_hash, expires_at, status from invitations where rollout_id = $1`, [r.id]);
    expect(rows).toHaveLength(12);
    expect(new Set(rows.map((x) => x.token_hash))).toEqual(new Set(tokens.map(sha256hex)));
    const ttl = svc.ctx.config.invitations.tokenTtlDays * 86_400_000;
    for (const x of rows) {
      expect(x.status).toBe('sent');
      expect(x.expires_at.getTime()).toBeGreaterThanOrEqual(before + ttl - 1_000);
      expect(x.expires_at.getTime()).toBeLessThanOrEqual(Date.now() + ttl + 1_000);
    }

    expect(await whereStored(tokens.flatMap(formsOf))).toEqual([]);
    const queued = await redisText();
    expect(queued.length).toBeGreaterThan(0); // the rollout's jobs are there to be searched
    for (const t of tokens) expect(queued).not.toContain(t);

    // accepting uses the token once and forgets even its hash
    const { userId } = await svc.ctx.rollouts().accept(tokens[0]);
    const accepted = await svc.store.query<{ token_hash: string | null; status: string }>(`select token_hash, status from invitations where user_id = $1 and rollout_id = $2`, [userId, r.id]);
    expect(accepted).toEqual([{ token_hash: null, status: 'accepted' }]);
  });
});

describe('API tokens', () => {
  it('carry at least 128 random bits and are stored only as their SHA-256 hash, with an 8-character hint', async () => {
    const created = [];
    for (let i = 0; i < 20; i++) created.push(await createToken(svc.ctx.em(), i % 2 ? 'acme' : 'globex', `t${i}`));
    const tokens = created.map((c) => c.token);
    for (const t of tokens) {
      expect(t).toMatch(/^hrs_[A-Za-z0-9_-]+$/);
      expect(Buffer.from(t.slice(4), 'base64url').length * 8).toBeGreaterThanOrEqual(128);
    }
    expect(new Set(tokens).size).toBe(tokens.length);

    const rows = await svc.store.query<{ id: string; token_hash: string; hint: string }>(`select id, token_hash, hint from api_tokens`);
    for (const c of created) {
      const row = rows.find((x) => x.id === c.record.id)!;
      expect(row.token_hash).toBe(sha256hex(c.token));
      expect(row.hint).toBe(`${c.token.slice(0, 8)}…`);
    }
    expect(await whereStored(tokens.flatMap(formsOf))).toEqual([]);

    // and the hash is what finds it
    const verifier = new TokenVerifier(svc.ctx.em, null, 0);
    expect(await verifier.verify(tokens[1])).toMatchObject({ kind: 'organization', organizationId: 'acme', tokenId: created[1].record.id });
    expect(await verifier.verify(otherLast(tokens[1]))).toBeNull();
  });
});

describe('the admin token', () => {
  const admin = `admin-${crypto.randomBytes(16).toString('hex')}`;
  const req = (authorization: string) => ({ headers: { authorization } }) as unknown as FastifyRequest;

  /** Each call to timingSafeEqual made by fn: both sides must be digests of the same length. */
  async function comparisons(fn: () => unknown): Promise<Array<[Buffer, Buffer]>> {
    timingSafeEqual.mockClear();
    await fn();
    const calls = timingSafeEqual.mock.calls as Array<[Buffer, Buffer]>;
    for (const [a, b] of calls) expect([a.length, b.length]).toEqual([32, 32]);
    return calls;
  }

  it('is compared in constant time, on digests, whatever the length of the guess (API bearer)', async () => {
    const verifier = new TokenVerifier(svc.ctx.em, admin, 0);
    for (const [guess, expected] of [[admin, { kind: 'admin' }], [otherLast(admin), null], ['a', null], ['x'.repeat(199), null], [admin.slice(0, 6), null]] as const) {
      let got: unknown;
      const calls = await comparisons(async () => (got = await verifier.verify(guess)));
      expect(calls).toHaveLength(1);
      expect(got).toEqual(expected);
    }
  });

  it('is compared in constant time by Bull Board (Bearer and Basic)', async () => {
    const basic = (p: string) => `Basic ${Buffer.from(`admin:${p}`).toString('base64')}`;
    for (const [authorization, ok] of [[`Bearer ${admin}`, true], [basic(admin), true], [`Bearer ${admin}x`, false], [basic('short'), false]] as const) {
      let got: unknown;
      const calls = await comparisons(() => (got = isAdmin(req(authorization), admin)));
      expect(calls).toHaveLength(1);
      expect(got).toBe(ok);
    }
  });
});
