import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from '../db/sql.js';
import { planRuleInvitations } from '../domain/rule-plan.js';
import { rulePeople } from './rule-people.js';
import type { RuleRecord } from './rule-types.js';

/**
 * Brings a rule's planned invitations in line with HR as it is now, in one statement: people
 * who left the selection (or were deactivated, invited otherwise, lost their start date) lose
 * their plan; a moved start date moves it; new joiners get one. A plan already due keeps its
 * moment (it is being fired). A fired plan stays fired, unless the person comes back with
 * another start date (a rehire, when the rule counts them). A disabled rule plans nothing.
 * Returns the moments that changed (to be queued) and how many people are planned.
 */
export async function evaluateRule(em: EntityManager, rule: RuleRecord, now: Date): Promise<{ moments: Date[]; planned: number }> {
  const people = rule.enabled ? await rulePeople(em, rule.organizationId, rule) : [];
  const plans = planRuleInvitations(rule, people, now).map((p) => ({ user_id: p.userId, start_date: p.startDate, due_at: p.at.toISOString() }));
  const rows = await sql<{ due_at: Date }>(
    em,
    `with want as (select * from jsonb_to_recordset(?::jsonb) as w(user_id uuid, start_date date, due_at timestamptz)),
     dropped as (
       delete from planned_invitations p where p.rule_id = ? and p.status = 'planned' and p.user_id not in (select user_id from want) returning 1),
     up as (
       insert into planned_invitations (rule_id, user_id, organization_id, start_date, due_at)
       select ?, w.user_id, ?, w.start_date, w.due_at from want w
       on conflict (rule_id, user_id) do update
          set start_date = excluded.start_date, due_at = excluded.due_at, status = 'planned', rollout_id = null, updated_at = now()
        where (planned_invitations.status = 'planned' and planned_invitations.start_date is distinct from excluded.start_date)
           or (planned_invitations.status = 'planned' and planned_invitations.due_at <> excluded.due_at
               and not (planned_invitations.due_at <= ? and excluded.due_at <= ?))
           or (planned_invitations.status = 'fired' and planned_invitations.start_date <> excluded.start_date)
       returning due_at)
     select distinct due_at from up`,
    [JSON.stringify(plans), rule.id, rule.id, rule.organizationId, now, now],
  );
  return { moments: rows.map((r) => new Date(r.due_at)), planned: plans.length };
}
