import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from '../db/sql.js';
import { LATE_HIRE_DAYS, type RulePerson } from '../domain/rule-plan.js';
import { selectionWhere } from '../invitations/rollout-selection.js';
import type { RuleRecord } from './rule-types.js';

export interface RulePersonRow extends RulePerson {
  firstName: string | null;
  lastName: string | null;
  location: string | null;
  plannedAt: Date | null;
}

/**
 * The people a rule's selection names who could be joiners: a start date set and not long
 * past (the planner decides the rest). Their time zone is their location's, else their
 * organization's, else UTC; `rehire`: sync (or a planned leaver deactivation) deactivated them
 * before. `firedFor`: the start date this rule already invited them for.
 */
export async function rulePeople(em: EntityManager, organizationId: string, rule: Pick<RuleRecord, 'filter'> & { id?: string }): Promise<RulePersonRow[]> {
  const { where, params } = selectionWhere(organizationId, { filter: rule.filter });
  const rows = await sql<{
    id: string; start_date: string; status: 'active' | 'deactivated'; access: 'none' | 'invited' | 'active'; has_email: boolean; tz: string;
    rehire: boolean; plan_status: string | null; plan_start: string | null; plan_due: Date | null; first_name: string | null; last_name: string | null; location: string | null;
  }>(
    em,
    `select u.id, to_char(u.start_date, 'YYYY-MM-DD') as start_date, u.status, u.access, (u.email is not null) as has_email,
            coalesce(l.time_zone, o.time_zone, 'UTC') as tz, u.first_name, u.last_name, l.name as location,
            u.id in (select d.user_id from sync_run_deactivations d where d.applied_at is not null) as rehire,
            p.status as plan_status, to_char(p.start_date, 'YYYY-MM-DD') as plan_start, p.due_at as plan_due
       from users u
       join organizations o on o.id = u.organization_id
       left join locations l on l.id = u.location_id
       left join planned_invitations p on p.rule_id = ? and p.user_id = u.id
      where ${where.join(' and ')} and u.status = 'active' and u.start_date is not null and u.start_date >= current_date - ?::int
      order by u.seq`,
    [rule.id ?? null, ...params, LATE_HIRE_DAYS + 2],
  );
  return rows.map((r) => ({
    userId: r.id,
    startDate: r.start_date,
    timeZone: r.tz,
    status: r.status,
    access: r.access,
    hasEmail: r.has_email,
    rehire: r.rehire,
    firedFor: r.plan_status === 'fired' ? r.plan_start : null,
    firstName: r.first_name,
    lastName: r.last_name,
    location: r.location,
    plannedAt: r.plan_status === 'planned' && r.plan_due ? new Date(r.plan_due) : null,
  }));
}
