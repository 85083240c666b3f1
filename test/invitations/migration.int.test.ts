import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDatabase, initOrm, type Orm } from '../../src/db/orm.js';

/**
 * Migration20261205120000_one_live_invitation on a store that already holds what the old code
 * allowed: live invitations for one user from overlapping rollouts, links past their expiry
 * still `sent`. It keeps each user's newest sent invitation (the link they hold keeps working),
 * ends the others, expires the lapsed ones (their users back to access `none`), then creates
 * the unique index.
 */
const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = `hrsync_t_mig12_${Date.now()}`;
const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${name}` }).toString();
let orm: Orm;
let db: pg.Client;

beforeAll(async () => {
  await ensureDatabase(url);
  orm = await initOrm(url);
  await orm.getMigrator().up({ to: 'Migration20261127000000_users_org_seq' });
  db = new pg.Client({ connectionString: url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await orm?.close(true);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`drop database if exists "${name}" with (force)`);
  await admin.end();
});

describe('the one-live-invitation migration', () => {
  it('keeps the newest sent invitation per user, ends the others, expires lapsed links, then forbids duplicates', async () => {
    const q = async (text: string, params: unknown[] = []) => (await db.query(text, params)).rows;
    await q(`insert into organizations (id, name) values ('acme', 'Acme')`);
    const users = await q(`insert into users (organization_id, email, source, status, access) select 'acme', 'u' || g || '@acme.example', 'manual', 'active', 'invited' from generate_series(1, 3) g returning id`);
    const [a, b, c] = users.map((u) => u.id as string);
    const rollout = async () => (await q(`insert into rollouts (organization_id, status, login_method, send_at, selection, batch_size, started_at) values ('acme', 'completed', 'sso', now(), '{}', 10, now()) returning id`))[0].id as string;
    const [r1, r2, r3] = [await rollout(), await rollout(), await rollout()];
    const inv = async (r: string, u: string, status: string, ageMinutes: number, expiresInMinutes: number) =>
      (await q(
        `insert into invitations (rollout_id, organization_id, user_id, batch, login_method, status, token_hash, expires_at, sent_at, created_at)
         values ($1, 'acme', $2, 0, 'sso', $3, md5(random()::text), now() + $5 * interval '1 minute', case when $3 = 'pending' then null else now() end, now() - $4 * interval '1 minute') returning id`,
        [r, u, status, ageMinutes, expiresInMinutes],
      ))[0].id as string;
    const a1 = await inv(r1, a, 'sent', 30, 60); // two rollouts sent to A …
    const a2 = await inv(r2, a, 'sent', 20, 60);
    const a3 = await inv(r3, a, 'pending', 10, 60); // … and a third is about to
    const b1 = await inv(r1, b, 'sent', 30, -5); // B's link lapsed
    const c1 = await inv(r1, c, 'sent', 30, 60); // C: one, valid
    await orm.getMigrator().up();
    const status = async (id: string) => (await q(`select status, token from invitations where id = $1`, [id]))[0];
    expect(await status(a1)).toEqual({ status: 'revoked', token: null });
    expect((await status(a2)).status).toBe('sent');
    expect(await status(a3)).toEqual({ status: 'cancelled', token: null });
    expect((await status(b1)).status).toBe('expired');
    expect((await status(c1)).status).toBe('sent');
    const access = Object.fromEntries((await q(`select id, access from users`)).map((u) => [u.id, u.access]));
    expect(access).toEqual({ [a]: 'invited', [b]: 'none', [c]: 'invited' });
    await expect(q(`insert into invitations (rollout_id, organization_id, user_id, batch, login_method) values ($1, 'acme', $2, 0, 'sso')`, [r2, c])).rejects.toThrow(/invitations_live_user_uq/);
    expect((await q(`select count(*)::int as n from idempotency_keys`))[0].n).toBe(0);
  });
});
