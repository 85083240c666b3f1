import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { storePerFile, tempDir, toCsv, employee } from '../support/store.js';

/**
 * Two first loads of one organization in two `hrsync sync` processes at once, their HR
 * listings sharing 150 people's e-mails (the same staff in an HR system and an old export).
 * Whether both start as first loads (planning pages without looking anyone up) depends on which
 * process commits its first page before the other checks the organization: in runs seen here,
 * sometimes both did and one collided mid-run and re-planned, sometimes the second looked records up
 * from the start. Either way the store's unique keys must give each address to one user, and
 * nothing may be invited.
 */
const ctx = storePerFile();

describe('first loads racing in two processes', () => {
  it('gives every shared e-mail to exactly one user, rejects it in the other run, and invites nobody', async () => {
    const dir = tempDir();
    const a = Array.from({ length: 1_500 }, (_, k) => employee(k + 1));
    // B: 150 of A's people (same e-mail, another employee id), then 1,350 people of its own
    const b = Array.from({ length: 1_500 }, (_, k) =>
      k < 150 ? employee(50_000 + k, { email: `person${k * 10 + 1}@acme.example` }) : employee(50_000 + k, { email: `b${k}@acme.example` }));
    writeFileSync(join(dir, 'a.csv'), toCsv(a));
    writeFileSync(join(dir, 'b.csv'), toCsv(b));
    writeFileSync(join(dir, 'hrsync.config.yaml'), stringify({
      sync: { batchSize: 100 },
      organizations: [{
        id: 'race', name: 'Race',
        connectors: [
          { id: 'race-a', type: 'file', options: { path: join(dir, 'a.csv'), pageSize: 100 } },
          { id: 'race-b', type: 'file', options: { path: join(dir, 'b.csv'), pageSize: 100 } },
        ],
      }],
    }));
    const env = { DATABASE_URL: ctx.store.url, HRSYNC_CONFIG: join(dir, 'hrsync.config.yaml'), LOG_LEVEL: 'warn' };
    const [ra, rb] = await Promise.all([runCli(['sync', 'race-a', '--json'], env, { timeoutMs: 120_000 }), runCli(['sync', 'race-b', '--json'], env, { timeoutMs: 120_000 })]);
    expect([ra.code, rb.code], `${ra.stderr}\n${rb.stderr}`).toEqual([0, 0]);
    const runA = JSON.parse(ra.stdout);
    const runB = JSON.parse(rb.stdout);
    expect([runA.status, runB.status]).toEqual(['succeeded', 'succeeded']);
    // each shared address went to whichever run wrote it first; the other run rejected it
    expect(runA.counts.rejected + runB.counts.rejected).toBe(150);
    expect(runA.counts.created + runB.counts.created).toBe(2_850);
    for (const run of [runA, runB]) for (const r of run.rejected) expect(r.reason).toBe('duplicate_email');

    const users = await ctx.store.query<{ n: number; emails: number; access: string[]; connectors: number }>(
      `select count(*)::int as n, count(distinct lower(email))::int as emails, array_agg(distinct access) as access, count(distinct connector_id)::int as connectors
         from users where organization_id = 'race'`);
    expect(users[0]).toEqual({ n: 2_850, emails: 2_850, access: ['none'], connectors: 2 });
    // every user has its membership and no reference dangles
    const loose = await ctx.store.query<{ n: number }>(
      `select count(*)::int as n from users u where u.organization_id = 'race'
          and (not exists (select 1 from group_memberships m where m.user_id = u.id)
               or (u.location_id is not null and not exists (select 1 from locations l where l.id = u.location_id))
               or (u.manager_id is not null and not exists (select 1 from users m where m.id = u.manager_id)))`);
    expect(loose[0].n).toBe(0);
    const invited = await ctx.store.query<{ n: number }>(`select (select count(*) from invitations)::int + (select count(*) from rollouts)::int as n`);
    expect(invited[0].n).toBe(0);
  });
});
