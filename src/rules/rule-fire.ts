import type { EntityManager } from '@mikro-orm/postgresql';
import { idempotent } from '../db/idempotency-keys.js';
import { sql } from '../db/sql.js';
import type { RolloutService } from '../invitations/rollout-service.js';
import type { Logger } from '../lib/logger.js';
import type { RuleRecord } from './rule-types.js';

/**
 * A rule's moment has come: its due plans become ordinary rollouts, one per moment, made by
 * the rollout service (so queue, progress, pause and cancel work as for any rollout). Each is
 * created in one transaction with its plans marked fired, under an idempotency key derived
 * from (rule, moment): a retried job, or two workers racing, make one rollout.
 */
export async function fireDuePlans(
  em: EntityManager,
  deps: { rollouts: RolloutService; log: Logger; reminderDefault?: (organizationId: string) => { daysBeforeExpiry: number; maxTimes: number } | null },
  rule: RuleRecord,
  now: Date,
): Promise<string[]> {
  if (!rule.enabled) return [];
  const moments = await sql<{ due_at: Date }>(
    em,
    `select distinct due_at from planned_invitations where rule_id = ? and status = 'planned' and due_at <= ? order by due_at`,
    [rule.id, new Date(now.getTime() + 1_000)],
  );
  const made: string[] = [];
  for (const { due_at } of moments) {
    const at = new Date(due_at);
    let afterCommit: (() => Promise<void>) | null = null;
    const r = await idempotent(em, { organizationId: rule.organizationId, scope: 'rule-moment', key: `${rule.id}.${at.toISOString()}`, body: { ruleId: rule.id, at: at.toISOString() } }, async (tx) => {
      const due = await sql<{ user_id: string }>(
        tx,
        `select user_id from planned_invitations where rule_id = ? and due_at = ? and status = 'planned' order by user_id for update`,
        [rule.id, at],
      );
      if (due.length === 0) return { statusCode: 200, response: { rolloutId: null as string | null } };
      const userIds = due.map((d) => d.user_id);
      const created = await deps.rollouts.createIn(
        tx,
        rule.organizationId,
        // sent now: the rollout is made at its moment (by the job, or late after an outage)
        { userIds, loginMethod: rule.loginMethod, message: rule.message },
        { createdBy: `rule:${rule.id}`, ruleId: rule.id, reminders: rule.reminders ?? deps.reminderDefault?.(rule.organizationId) ?? null },
      );
      afterCommit = created.afterCommit;
      await sql(
        tx,
        `update planned_invitations set status = 'fired', rollout_id = ?, updated_at = now()
          where rule_id = ? and status = 'planned' and user_id = any(array(select jsonb_array_elements_text(?::jsonb)::uuid))`,
        [created.record.id, rule.id, JSON.stringify(userIds)],
      );
      return { statusCode: 201, response: { rolloutId: created.record.id as string | null } };
    });
    if (afterCommit) await (afterCommit as () => Promise<void>)();
    if (r.response.rolloutId && !r.replayed) {
      made.push(r.response.rolloutId);
      deps.log.info({ ruleId: rule.id, rolloutId: r.response.rolloutId, at: at.toISOString() }, 'rule moment: rollout created');
    }
  }
  return made;
}
