import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariants, INVARIANT_NAMES, type InvariantReport } from '../../src/db/invariants.js';
import { sql, sqlOne } from '../../src/db/sql.js';
import { RolloutService, type InvitationMessage, type RolloutQueuePort } from '../../src/invitations/rollout-service.js';
import { silentLogger } from '../../src/lib/logger.js';
import { tryLockConnector } from '../../src/sync/connector-lock.js';
import { SyncEngine } from '../../src/sync/sync-engine.js';
import { createUser } from '../../src/users/user-service.js';
import { applyConfig, configFor, createTestStore, employee, tempDir, toCsv, type TestStore } from '../support/store.js';

/**
 * The store's SQL invariants (src/db/invariants.ts): a store built by the real code paths
 * (two organizations synced, a rollout sent and one invitation accepted, a sync-deactivated
 * user, a user created by hand) satisfies every one; each test then breaks exactly one
 * thing, inside a transaction that is rolled back, and sees it reported with its count.
 */
let store: TestStore;
const ids: Record<string, string> = {};
let rolloutId = '';
let deactivatingRunId = '';

const noQueues: RolloutQueuePort = {
  async scheduleTrigger() {},
  async removeTrigger() {},
  async enqueueBatches() {},
  async queuedTriggers() { return new Set(); },
  async queuedBatches() { return new Map(); },
};

beforeAll(async () => {
  store = await createTestStore();
  const dir = tempDir('hrsync-inv-');
  const acme = join(dir, 'acme.csv');
  const globex = join(dir, 'globex.csv');
  const config = configFor(store.url, {
    organizations: [
      { id: 'acme', name: 'Acme', connectors: [{ id: 'inv-acme-hr', type: 'file', options: { path: acme }, mapping: { location: 'location', group: 'department' }, deactivation: { maxPercent: 100 } }] },
      { id: 'globex', name: 'Globex', connectors: [{ id: 'inv-globex-hr', type: 'file', options: { path: globex }, mapping: { location: 'location', group: 'department' } }] },
    ],
  });
  await applyConfig(store, config);
  const sync = new SyncEngine({ orm: store.orm, config, log: silentLogger });
  const acmeRows = Array.from({ length: 6 }, (_, k) => employee(k + 1));
  writeFileSync(acme, toCsv(acmeRows));
  writeFileSync(globex, toCsv([employee(101, { email: 'g101@globex.example', department: 'Globex Ops', location: 'Globex City' }), employee(102, { email: 'g102@globex.example', managerId: 'E101' })]));
  expect((await sync.run({ connectorId: 'inv-acme-hr' })).status).toBe('succeeded');
  expect((await sync.run({ connectorId: 'inv-globex-hr' })).status).toBe('succeeded');
  // E6 leaves: deactivated by a succeeded run.
  writeFileSync(acme, toCsv(acmeRows.slice(0, 5)));
  const gone = await sync.run({ connectorId: 'inv-acme-hr' });
  expect(gone).toMatchObject({ status: 'succeeded', counts: { deactivated: 1 } });
  deactivatingRunId = gone.id;
  for (const r of await store.query<{ id: string; external_id: string | null; email: string }>(`select id, external_id, email from users`)) ids[r.external_id ?? r.email] = r.id;
  ids.manual = (await createUser(store.em(), 'acme', { email: 'hand@acme.example', firstName: 'Hand' })).id;

  // E1..E3 invited; E1 accepts.
  const sent: InvitationMessage[] = [];
  const rollouts = new RolloutService({ orm: store.orm, log: silentLogger, queues: noQueues });
  const r = await rollouts.create('acme', { userIds: [ids.E1, ids.E2, ids.E3], loginMethod: 'password' });
  await rollouts.fire(r.id);
  await rollouts.sendBatch(r.id, 0, { async send(m) { sent.push(m); } });
  rolloutId = r.id;
  const e1 = sent.find((m) => m.to === 'person1@acme.example')!;
  await rollouts.accept(e1.token);
  expect((await rollouts.get(r.id))!.status).toBe('completed');
});

afterAll(async () => {
  await store?.drop();
});

const ROLLBACK = new Error('rollback');

/** Breaks the store inside a transaction, checks the invariants in it, and rolls it back. */
async function broken(breakIt: (t: EntityManager) => Promise<void>, opts: Parameters<typeof checkInvariants>[1] = {}): Promise<InvariantReport> {
  let report: InvariantReport | null = null;
  await store
    .em()
    .transactional(async (tx) => {
      const t = tx as EntityManager;
      await breakIt(t);
      report = await checkInvariants(t, opts);
      throw ROLLBACK;
    })
    .catch((err) => {
      if (err !== ROLLBACK) throw err;
    });
  return report!;
}

const failedNames = (r: InvariantReport) => r.failed.map((f) => `${f.name}:${f.count}`).sort();
const q = (t: EntityManager, text: string, params: unknown[] = []) => sql(t, text, params);
const invitationOf = async (t: EntityManager, user: string) => (await sqlOne<{ id: string }>(t, `select id from invitations where user_id = ? and rollout_id = ?`, [ids[user], rolloutId]))!.id;

describe('store invariants', () => {
  it('all hold on a store built by the real code paths', async () => {
    const report = await checkInvariants(store.em());
    expect(report.failed).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.results.map((r) => r.name)).toEqual(INVARIANT_NAMES);
    expect(report.results.every((r) => r.count === 0)).toBe(true);
  });

  // Each case: what is broken, and exactly which invariants must report it (name:count).
  const cases: Array<[string, (t: EntityManager) => Promise<void>, string[]]> = [
    ['two users of one organization share an e-mail (case-insensitively)', async (t) => {
      await q(t, `drop index users_org_email_uq`);
      await q(t, `update users set email = 'PERSON1@acme.example' where id = ?`, [ids.E4]);
    }, ['email_unique_per_org:1']],
    ["a user's manager is in another organization", async (t) => {
      await q(t, `update users set manager_id = ? where id = ?`, [ids.E101, ids.E4]);
    }, ['manager_in_same_org:1']],
    ['a user is their own manager', async (t) => {
      await q(t, `update users set manager_id = id where id = ?`, [ids.E4]);
    }, ['manager_not_self:1']],
    ["a user's location is another organization's", async (t) => {
      await q(t, `update users set location_id = (select location_id from users where id = ?) where id = ?`, [ids.E101, ids.E4]);
    }, ['location_in_same_org:1']],
    ["a user is a member of another organization's group", async (t) => {
      await q(t, `insert into group_memberships (user_id, group_id) select ?, id from groups where organization_id = 'globex' limit 1`, [ids.E4]);
    }, ['membership_in_same_org:1']],
    ["a user is linked to another organization's connector", async (t) => {
      await q(t, `update users set connector_id = 'inv-globex-hr', external_id = 'X1' where id = ?`, [ids.manual]);
    }, ['connector_in_same_org:1']],
    ["an invitation names another organization than its user's", async (t) => {
      await q(t, `update invitations set organization_id = 'globex' where id = ?`, [await invitationOf(t, 'E2')]);
    }, ['invitation_in_same_org:1']],
    ["a sync run names another organization than its connector's", async (t) => {
      await q(t, `update sync_runs set organization_id = 'globex' where id = ?`, [deactivatingRunId]);
    }, ['sync_run_in_same_org:1']],
    ['a user is marked invited without any invitation sent (as if sync invited them)', async (t) => {
      await q(t, `update users set access = 'invited' where id = ?`, [ids.E4]);
    }, ['invited_has_sent_invitation:1']],
    ['a user has active access without having accepted an invitation', async (t) => {
      await q(t, `update users set access = 'active' where id = ?`, [ids.E2]);
    }, ['active_access_has_accepted_invitation:1']],
    ["an invitation is recorded sent but its user's access stayed none", async (t) => {
      await q(t, `update users set access = 'none' where id = ?`, [ids.E2]);
    }, ['sent_invitation_recorded_on_user:1']],
    ['an accepted invitation left its user without active access', async (t) => {
      await q(t, `update users set access = 'invited' where id = ?`, [ids.E1]);
    }, ['accepted_invitation_activates:1']],
    ['a sent invitation has no token hash', async (t) => {
      await q(t, `update invitations set token_hash = null where id = ?`, [await invitationOf(t, 'E2')]);
    }, ['invitation_fields_match_status:1']],
    ['an invitation is left sending for an hour while its rollout is paused', async (t) => {
      await q(t, `update invitations set status = 'sending', updated_at = now() - interval '1 hour' where id = ?`, [await invitationOf(t, 'E3')]);
      await q(t, `update rollouts set status = 'paused', paused_from = 'running', finished_at = null where id = ?`, [rolloutId]);
    }, ['no_stuck_sending:1']],
    ['a user has two live invitations (a second rollout queued one beside a sent one)', async (t) => {
      // the unique index invitations_live_user_uq forbids it: the check stays for a store without it
      await q(t, `drop index invitations_live_user_uq`);
      const r = await sqlOne<{ id: string }>(t, `insert into rollouts (organization_id, status, login_method, send_at, selection, batch_size, targeted, started_at)
                                                 values ('acme', 'running', 'sso', now(), '{}', 10, 1, now()) returning id`);
      await q(t, `insert into invitations (rollout_id, organization_id, user_id, batch, login_method) values (?, 'acme', ?, 0, 'sso')`, [r!.id, ids.E2]);
    }, ['one_live_invitation_per_user:1']],
    ['a deactivated user keeps a sent, unused invitation link', async (t) => {
      await q(t, `update users set status = 'deactivated', deactivated_by = 'admin', deactivated_at = now() where id = ?`, [ids.E2]);
    }, ['deactivated_has_no_live_invitation:1']],
    ['a completed rollout still has a pending invitation', async (t) => {
      await q(t, `update invitations set status = 'pending', token_hash = null where id = ?`, [await invitationOf(t, 'E3')]);
    }, ['completed_rollout_has_no_pending:1']],
    ["a rollout's targeted counter differs from its invitations", async (t) => {
      await q(t, `update rollouts set targeted = targeted + 1 where id = ?`, [rolloutId]);
    }, ['rollout_targeted_matches_invitations:1']],
    ['a rollout with nothing left to send stays running', async (t) => {
      await q(t, `update rollouts set status = 'running', finished_at = null, updated_at = now() - interval '1 hour' where id = ?`, [rolloutId]);
    }, ['running_rollout_has_work:1']],
    ['a completed rollout has no finish time', async (t) => {
      await q(t, `update rollouts set finished_at = null where id = ?`, [rolloutId]);
    }, ['rollout_times_match_status:1']],
    ['a scheduled rollout is an hour overdue (its trigger lost)', async (t) => {
      await q(t, `insert into rollouts (organization_id, status, login_method, send_at, selection, batch_size) values ('acme', 'scheduled', 'sso', now() - interval '1 hour', '{}', 10)`);
    }, ['scheduled_rollout_not_overdue:1']],
    ['a finished sync run has no finish time', async (t) => {
      await q(t, `update sync_runs set finished_at = null where id = ?`, [deactivatingRunId]);
    }, ['sync_run_times_match_status:1']],
    ['a failed run has applied deactivations', async (t) => {
      await q(t, `update sync_runs set status = 'failed' where id = ?`, [deactivatingRunId]);
    }, ['no_deactivation_by_failed_or_held_run:1', 'sync_deactivation_has_run:1']],
    ['a dry run listed a deactivation', async (t) => {
      const r = await sqlOne<{ id: string }>(t, `insert into sync_runs (organization_id, connector_id, trigger, dry_run, status, finished_at) values ('acme', 'inv-acme-hr', 'manual', true, 'succeeded', now()) returning id`);
      await q(t, `insert into sync_run_deactivations (run_id, user_id, reason) values (?, ?, 'terminated')`, [r!.id, ids.E5]);
    }, ['no_deactivation_by_dry_run:1']],
    ['a failed run left a pending deactivation behind', async (t) => {
      const r = await sqlOne<{ id: string }>(t, `insert into sync_runs (organization_id, connector_id, trigger, status, finished_at) values ('acme', 'inv-acme-hr', 'manual', 'failed', now()) returning id`);
      await q(t, `insert into sync_run_deactivations (run_id, user_id, reason) values (?, ?, 'missing_from_listing')`, [r!.id, ids.E5]);
    }, ['failed_run_keeps_no_pending_deactivations:1']],
    ['a held run holds fewer deactivations than its counts say', async (t) => {
      const r = await sqlOne<{ id: string }>(t, `insert into sync_runs (organization_id, connector_id, trigger, status, counts, finished_at)
                                                 values ('acme', 'inv-acme-hr', 'manual', 'needs_approval', '{"heldDeactivations": 2}', now()) returning id`);
      await q(t, `insert into sync_run_deactivations (run_id, user_id, reason) values (?, ?, 'missing_from_listing')`, [r!.id, ids.E5]);
    }, ['held_run_count_matches:1']],
    ['a user is marked deactivated by sync without a run that did it', async (t) => {
      await q(t, `update users set status = 'deactivated', deactivated_by = 'sync', deactivated_at = now() where id = ?`, [ids.E5]);
    }, ['sync_deactivation_has_run:1']],
    ['an active user says who deactivated them', async (t) => {
      await q(t, `update users set deactivated_by = 'admin' where id = ?`, [ids.E4]);
    }, ['deactivation_fields_match_status:1']],
    ['a sync run is marked running but nobody holds its connector', async (t) => {
      await q(t, `insert into sync_runs (organization_id, connector_id, trigger, status) values ('acme', 'inv-acme-hr', 'manual', 'running')`);
    }, ['running_sync_holds_lock:1']],
  ];

  it('has a case below for every invariant', () => {
    const covered = new Set(cases.flatMap(([, , names]) => names.map((n) => n.split(':')[0])));
    expect([...covered].sort()).toEqual([...INVARIANT_NAMES].sort());
  });

  it.each(cases)('reports it when %s', async (_what, breakIt, expected) => {
    const report = await broken(breakIt);
    expect(failedNames(report)).toEqual([...expected].sort());
    expect(report.ok).toBe(false);
    for (const f of report.failed) expect(f.examples.length).toBeGreaterThan(0);
  });

  it('does not report a running sync whose connector lock is held', async () => {
    const lock = (await tryLockConnector(store.url, 'inv-acme-hr'))!;
    try {
      const report = await broken(async (t) => {
        await q(t, `insert into sync_runs (organization_id, connector_id, trigger, status) values ('acme', 'inv-acme-hr', 'manual', 'running')`);
      });
      expect(report.failed).toEqual([]);
    } finally {
      await lock.release();
    }
  });

  it('checks one organization when asked, and reports examples by id only', async () => {
    const breakGlobex = async (t: EntityManager) => {
      await q(t, `update users set manager_id = id where id = ?`, [ids.E102]);
    };
    expect((await broken(breakGlobex, { organizationId: 'acme' })).ok).toBe(true);
    const report = await broken(breakGlobex, { organizationId: 'globex' });
    expect(failedNames(report)).toEqual(['manager_not_self:1']);
    expect(report.failed[0].examples).toEqual([ids.E102]);
  });

  it('ignores in-flight states younger than the lock and grace periods', async () => {
    const report = await broken(async (t) => {
      await q(t, `update invitations set status = 'sending' where id = ?`, [await invitationOf(t, 'E3')]);
      await q(t, `update rollouts set status = 'paused', paused_from = 'running', finished_at = null where id = ?`, [rolloutId]);
      await q(t, `insert into rollouts (organization_id, status, login_method, send_at, selection, batch_size) values ('acme', 'scheduled', 'sso', now() - interval '5 seconds', '{}', 10)`);
    });
    expect(report.failed).toEqual([]);
    const strict = await broken(async (t) => {
      await q(t, `update invitations set status = 'sending', updated_at = now() - interval '2 seconds' where id = ?`, [await invitationOf(t, 'E3')]);
      await q(t, `update rollouts set status = 'paused', paused_from = 'running', finished_at = null where id = ?`, [rolloutId]);
    }, { lockMs: 1_000 });
    expect(failedNames(strict)).toEqual(['no_stuck_sending:1']);
  });
});
