import { IsolationLevel } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { connectorLockKey } from './advisory-lock.js';
import { sql } from './sql.js';

/**
 * The store's invariants, checked with SQL: what must hold between the rows whatever
 * happened to the processes, the queues or the database server on the way (a crash, a
 * restart, a retried job). Each check returns the offending rows' count and a few of their
 * ids (ids only: never an e-mail address or a token).
 *
 * Some states are legitimately transient while work is in flight (a message being sent,
 * a rollout that finished its last batch a moment ago): those checks only count rows older
 * than `lockMs` (the queue lock: a job whose worker died is taken up again after it) or
 * `graceMs` (the reconciler's round, with room to spare). Check a quiet store, or one
 * whose work has had that long to recover.
 */
export interface InvariantOptions {
  /** Only this organization's rows (default: all). */
  organizationId?: string;
  /** The queue lock duration (QUEUE_LOCK_MS, default 30 s). */
  lockMs?: number;
  /** How long recoverable work may lag (reconciler round, retries); default 120 s. */
  graceMs?: number;
  /** Run only these checks (by name). */
  only?: readonly string[];
}

export interface InvariantResult {
  name: string;
  description: string;
  /** offending rows (0 = holds) */
  count: number;
  /** up to 5 ids of offending rows (users, invitations, rollouts, runs as named by the check) */
  examples: string[];
}

export interface InvariantReport {
  ok: boolean;
  /** total offending rows over all checks */
  violations: number;
  results: InvariantResult[];
  /** only the checks that found something */
  failed: InvariantResult[];
  tookMs: number;
}

interface Params {
  /** `alias.organization_id = ?` or `true` when not filtering */
  org(alias: string): string;
  /** binds a value and returns its placeholder */
  bind(v: unknown): string;
  lockMs: number;
  graceMs: number;
}

interface SqlCheck {
  name: string;
  description: string;
  /** A query returning one text column `id` per offending row. */
  query(p: Params): string;
}

const EXAMPLES = 5;

/** Every SQL check, by area. Names are stable: tests and the chaos reports refer to them. */
export const SQL_INVARIANTS: readonly SqlCheck[] = [
  // ---- tenancy: every row's links stay within its organization -----------------------------
  {
    name: 'email_unique_per_org',
    description: 'e-mail addresses are unique per organization, case-insensitively (one example user per duplicated address)',
    query: (p) => `select min(u.id::text) as id from users u where u.email is not null and ${p.org('u')}
                    group by u.organization_id, lower(u.email) having count(*) > 1`,
  },
  {
    name: 'manager_in_same_org',
    description: "a user's manager belongs to the user's organization",
    query: (p) => `select u.id::text as id from users u join users m on m.id = u.manager_id
                    where m.organization_id <> u.organization_id and ${p.org('u')}`,
  },
  {
    name: 'manager_not_self',
    description: 'nobody is their own manager',
    query: (p) => `select u.id::text as id from users u where u.manager_id = u.id and ${p.org('u')}`,
  },
  {
    name: 'location_in_same_org',
    description: "a user's location belongs to the user's organization",
    query: (p) => `select u.id::text as id from users u join locations l on l.id = u.location_id
                    where l.organization_id <> u.organization_id and ${p.org('u')}`,
  },
  {
    name: 'membership_in_same_org',
    description: "a user's groups belong to the user's organization (example: the user)",
    query: (p) => `select gm.user_id::text as id from group_memberships gm join users u on u.id = gm.user_id join groups g on g.id = gm.group_id
                    where g.organization_id <> u.organization_id and ${p.org('u')}`,
  },
  {
    name: 'connector_in_same_org',
    description: "a user's connector belongs to the user's organization",
    query: (p) => `select u.id::text as id from users u join connectors c on c.id = u.connector_id
                    where c.organization_id <> u.organization_id and ${p.org('u')}`,
  },
  {
    name: 'invitation_in_same_org',
    description: "an invitation, its rollout and its user belong to one organization (example: the invitation)",
    query: (p) => `select i.id::text as id from invitations i join users u on u.id = i.user_id join rollouts r on r.id = i.rollout_id
                    where (u.organization_id <> i.organization_id or r.organization_id <> i.organization_id) and ${p.org('i')}`,
  },
  {
    name: 'sync_run_in_same_org',
    description: "a sync run belongs to its connector's organization",
    query: (p) => `select s.id::text as id from sync_runs s join connectors c on c.id = s.connector_id
                    where c.organization_id <> s.organization_id and ${p.org('s')}`,
  },

  // ---- access: only an administrator's invitation gives it -----------------------------------
  {
    name: 'invited_has_sent_invitation',
    description: "a user whose access is 'invited' was sent an invitation (nothing else invites)",
    query: (p) => `select u.id::text as id from users u
                    where u.access = 'invited' and ${p.org('u')}
                      and not exists (select 1 from invitations i where i.user_id = u.id and i.sent_at is not null)`,
  },
  {
    name: 'active_access_has_accepted_invitation',
    description: "a user whose access is 'active' accepted an invitation (sync alone never grants access)",
    query: (p) => `select u.id::text as id from users u
                    where u.access = 'active' and ${p.org('u')}
                      and not exists (select 1 from invitations i where i.user_id = u.id and i.status = 'accepted')`,
  },
  {
    name: 'sent_invitation_recorded_on_user',
    description: "an invitation recorded as sent or accepted left its user's access at 'invited' or 'active', never 'none' (example: the invitation)",
    query: (p) => `select i.id::text as id from invitations i join users u on u.id = i.user_id
                    where i.status in ('sent', 'accepted') and u.access = 'none' and ${p.org('i')}`,
  },
  {
    name: 'accepted_invitation_activates',
    description: "a user who accepted an invitation has access 'active' (example: the invitation)",
    query: (p) => `select i.id::text as id from invitations i join users u on u.id = i.user_id
                    where i.status = 'accepted' and u.access <> 'active' and ${p.org('i')}`,
  },

  // ---- invitations ---------------------------------------------------------------------------
  {
    name: 'invitation_fields_match_status',
    description: 'an invitation carries what its status needs: sending/sent a token hash (sent also sent_at and expiry), accepted its time; the clear token only while pending or sending, and then with its hash — or while sent with reminders still owed (issue 17: a reminder carries the same link)',
    query: (p) => `select i.id::text as id from invitations i
                    where ${p.org('i')} and (
                          (i.status = 'sent' and (i.token_hash is null or i.expires_at is null or i.sent_at is null))
                       or (i.status = 'sending' and i.token_hash is null)
                       or (i.status = 'accepted' and i.accepted_at is null)
                       or (i.status = 'pending' and (i.token is null) <> (i.token_hash is null))
                       or (i.status not in ('pending', 'sending') and i.token is not null
                           and not (i.status = 'sent' and exists (select 1 from rollouts r where r.id = i.rollout_id and r.remind_max > i.reminders_sent))))`,
  },
  {
    name: 'no_stuck_sending',
    description: "no invitation is left 'sending' longer than the queue lock while its rollout is not running (nobody will send or reset it)",
    query: (p) => `select i.id::text as id from invitations i join rollouts r on r.id = i.rollout_id
                    where i.status = 'sending' and r.status <> 'running'
                      and i.updated_at < now() - ${p.bind(p.lockMs)} * interval '1 millisecond' and ${p.org('i')}`,
  },
  {
    name: 'one_live_invitation_per_user',
    description: 'a user has at most one invitation pending, being sent or sent and unused (a resend revokes the old link)',
    query: (p) => `select i.user_id::text as id from invitations i
                    where i.status in ('pending', 'sending', 'sent') and ${p.org('i')}
                    group by i.user_id having count(*) > 1`,
  },
  {
    name: 'deactivated_has_no_live_invitation',
    description: 'a deactivated user has no invitation pending or sent and unused (deactivation cancels and revokes them; example: the user)',
    query: (p) => `select distinct u.id::text as id from users u join invitations i on i.user_id = u.id
                    where u.status = 'deactivated' and i.status in ('pending', 'sending', 'sent') and ${p.org('u')}`,
  },

  // ---- rollouts ------------------------------------------------------------------------------
  {
    name: 'completed_rollout_has_no_pending',
    description: 'a completed rollout has no invitation pending or being sent',
    query: (p) => `select r.id::text as id from rollouts r
                    where r.status = 'completed' and ${p.org('r')}
                      and exists (select 1 from invitations i where i.rollout_id = r.id and i.status in ('pending', 'sending'))`,
  },
  {
    name: 'rollout_targeted_matches_invitations',
    description: "a rollout's `targeted` counter equals its invitations (one per user), and a rollout that never fired has none",
    query: (p) => `select r.id::text as id from rollouts r
                     left join lateral (select count(*) as n from invitations i where i.rollout_id = r.id) c on true
                    where ${p.org('r')} and ((r.started_at is not null and c.n <> r.targeted) or (r.started_at is null and (c.n > 0 or r.targeted <> 0)))`,
  },
  {
    name: 'running_rollout_has_work',
    description: 'a running rollout still has invitations to send (one with nothing left is completed by its last batch or the reconciler)',
    query: (p) => `select r.id::text as id from rollouts r
                    where r.status = 'running' and r.updated_at < now() - ${p.bind(p.graceMs)} * interval '1 millisecond' and ${p.org('r')}
                      and not exists (select 1 from invitations i where i.rollout_id = r.id and i.status in ('pending', 'sending'))`,
  },
  {
    name: 'rollout_times_match_status',
    description: 'a completed, cancelled or failed rollout has its finish time; a scheduled one has not started',
    query: (p) => `select r.id::text as id from rollouts r
                    where ${p.org('r')} and ((r.status in ('completed', 'cancelled', 'failed') and r.finished_at is null)
                                          or (r.status = 'scheduled' and r.started_at is not null))`,
  },
  {
    name: 'scheduled_rollout_not_overdue',
    description: 'a scheduled rollout whose time has come fires (its trigger job is re-created by the reconciler if Redis lost it)',
    query: (p) => `select r.id::text as id from rollouts r
                    where r.status = 'scheduled' and r.send_at < now() - ${p.bind(p.graceMs)} * interval '1 millisecond' and ${p.org('r')}`,
  },

  // ---- sync runs and deactivations -------------------------------------------------------------
  {
    name: 'sync_run_times_match_status',
    description: 'a finished sync run has its finish time; a queued or running one has none',
    query: (p) => `select s.id::text as id from sync_runs s
                    where ${p.org('s')} and ((s.status not in ('queued', 'running') and s.finished_at is null)
                                          or (s.status in ('queued', 'running') and s.finished_at is not null))`,
  },
  {
    name: 'no_deactivation_by_failed_or_held_run',
    description: 'only a succeeded or approved run (never a dry run) has applied deactivations (example: the run)',
    query: (p) => `select distinct s.id::text as id from sync_run_deactivations d join sync_runs s on s.id = d.run_id
                    where d.applied_at is not null and (s.status not in ('succeeded', 'approved') or s.dry_run) and ${p.org('s')}`,
  },
  {
    name: 'no_deactivation_by_dry_run',
    description: 'a dry run lists no deactivations in the store (example: the run)',
    query: (p) => `select distinct s.id::text as id from sync_run_deactivations d join sync_runs s on s.id = d.run_id
                    where s.dry_run and ${p.org('s')}`,
  },
  {
    name: 'failed_run_keeps_no_pending_deactivations',
    description: 'a failed run left no pending deactivations behind (example: the run)',
    query: (p) => `select distinct s.id::text as id from sync_run_deactivations d join sync_runs s on s.id = d.run_id
                    where d.applied_at is null and s.status = 'failed' and ${p.org('s')}`,
  },
  {
    name: 'held_run_count_matches',
    description: "a run waiting for approval holds as many deactivations as its counts say",
    query: (p) => `select s.id::text as id from sync_runs s
                    where s.status = 'needs_approval' and ${p.org('s')}
                      and coalesce((s.counts->>'heldDeactivations')::int, 0)
                          <> (select count(*) from sync_run_deactivations d where d.run_id = s.id and d.applied_at is null)`,
  },
  {
    name: 'sync_deactivation_has_run',
    description: 'a user deactivated by sync was deactivated by a succeeded or approved run that lists them',
    query: (p) => `select u.id::text as id from users u
                    where u.status = 'deactivated' and u.deactivated_by = 'sync' and ${p.org('u')}
                      and not exists (select 1 from sync_run_deactivations d join sync_runs s on s.id = d.run_id
                                       where d.user_id = u.id and d.applied_at is not null and s.status in ('succeeded', 'approved'))`,
  },
  {
    name: 'deactivation_fields_match_status',
    description: 'a deactivated user says by whom and when; an active user carries neither',
    query: (p) => `select u.id::text as id from users u
                    where ${p.org('u')} and ((u.status = 'deactivated' and (u.deactivated_by is null or u.deactivated_at is null))
                                          or (u.status = 'active' and (u.deactivated_by is not null or u.deactivated_at is not null)))`,
  },
];

export const RUNNING_SYNC_HOLDS_LOCK = 'running_sync_holds_lock';
const RUNNING_SYNC_DESCRIPTION = "a sync run marked running is held by a live process: its connector's advisory lock is taken (else it is stuck)";

/** Every check's name, in report order. */
export const INVARIANT_NAMES: readonly string[] = [...SQL_INVARIANTS.map((c) => c.name), RUNNING_SYNC_HOLDS_LOCK];

/**
 * Runs the checks in one read-only, repeatable-read transaction (one snapshot for all of
 * them), or in the caller's transaction, and reports every one, with its count.
 */
export async function checkInvariants(em: EntityManager, opts: InvariantOptions = {}): Promise<InvariantReport> {
  const t0 = Date.now();
  const lockMs = opts.lockMs ?? 30_000;
  const graceMs = opts.graceMs ?? 120_000;
  const wanted = (name: string) => !opts.only || opts.only.includes(name);
  const run = async (t: EntityManager) => {
    const out: InvariantResult[] = [];
    for (const check of SQL_INVARIANTS) {
      if (!wanted(check.name)) continue;
      const params: unknown[] = [];
      const p: Params = {
        org: (alias) => {
          if (opts.organizationId === undefined) return 'true';
          params.push(opts.organizationId);
          return `${alias}.organization_id = ?`;
        },
        bind: (v) => {
          params.push(v);
          return '?';
        },
        lockMs,
        graceMs,
      };
      const inner = check.query(p);
      const rows = await sql<{ n: string; examples: string[] | null }>(
        t,
        `with v as (${inner})
         select (select count(*) from v) as n, (select array_agg(id) from (select id from v order by id limit ${EXAMPLES}) e) as examples`,
        params,
      );
      out.push({ name: check.name, description: check.description, count: Number(rows[0]?.n ?? 0), examples: rows[0]?.examples ?? [] });
    }
    if (wanted(RUNNING_SYNC_HOLDS_LOCK)) out.push(await runningSyncHoldsLock(t, opts.organizationId));
    return out;
  };
  // Inside the caller's transaction when there is one (it sees that transaction's changes).
  const results = em.isInTransaction()
    ? await run(em)
    : await em.fork().transactional(async (tx) => run(tx as EntityManager), { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true });
  const failed = results.filter((r) => r.count > 0);
  return { ok: failed.length === 0, violations: failed.reduce((a, r) => a + r.count, 0), results, failed, tookMs: Date.now() - t0 };
}

/**
 * A run marked `running` (not a dry run) must be held by a live process: the engine holds
 * its connector's session-level advisory lock for the whole run, and the server releases it
 * when that session ends (a crash, a restart). Marked running with the lock free = stuck.
 */
async function runningSyncHoldsLock(em: EntityManager, organizationId?: string): Promise<InvariantResult> {
  const running = await sql<{ id: string; connector_id: string }>(
    em,
    `select id::text as id, connector_id from sync_runs where status = 'running' and not dry_run${organizationId !== undefined ? ' and organization_id = ?' : ''} order by id`,
    organizationId !== undefined ? [organizationId] : [],
  );
  const stuck: string[] = [];
  if (running.length > 0) {
    // Two-key advisory locks show in pg_locks as classid = key 1, objid = key 2 (as unsigned oids), objsubid = 2.
    const keys = running.map((r) => {
      const [a, b] = connectorLockKey(r.connector_id);
      return { id: r.id, a: a >>> 0, b: b >>> 0 };
    });
    const held = await sql<{ id: string }>(
      em,
      `select k.id from jsonb_to_recordset(?::jsonb) as k(id text, a bigint, b bigint)
        where exists (select 1 from pg_locks l where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                        and l.database = (select oid from pg_database where datname = current_database())
                        and l.classid::bigint = k.a and l.objid::bigint = k.b)`,
      [JSON.stringify(keys)],
    );
    const ok = new Set(held.map((h) => h.id));
    for (const r of running) if (!ok.has(r.id)) stuck.push(r.id);
  }
  return { name: RUNNING_SYNC_HOLDS_LOCK, description: RUNNING_SYNC_DESCRIPTION, count: stuck.length, examples: stuck.slice(0, EXAMPLES) };
}

/** One line per check that found something (or "all N invariants hold"). */
export function formatInvariantReport(report: InvariantReport): string {
  if (report.ok) return `all ${report.results.length} invariants hold (${report.tookMs} ms)`;
  return report.failed.map((r) => `${r.name}: ${r.count} (${r.description}; e.g. ${r.examples.join(', ')})`).join('\n');
}
