import type { EntityManager } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { sql, sqlOne } from '../db/sql.js';
import { planRuleInvitations } from '../domain/rule-plan.js';
import { isUuid } from '../domain/uuid.js';
import type { RolloutService } from '../invitations/rollout-service.js';
import { AppError } from '../lib/errors.js';
import { evaluateRule } from './rule-evaluate.js';
import { fireDuePlans } from './rule-fire.js';
import { rulePeople } from './rule-people.js';
import {
  ruleInputSchema,
  ruleUpdateSchema,
  toRuleRecord,
  type PreviewEntry,
  type RuleInput,
  type RuleRecord,
  type RuleRow,
  type RuleServiceDeps,
  type RuleUpdate,
} from './rule-types.js';

export * from './rule-types.js';

/**
 * Invitation rules: standing administrator decisions ("invite Berlin three days before the start
 * date at 09:00 local"). Stored in PostgreSQL with an audit of who created, changed, enabled or
 * disabled each. A rule invites only whom it names, at the moment it names: evaluate() keeps its
 * planned invitations in line with HR (after every sync, daily, and when the rule changes);
 * fire() turns due plans into ordinary rollouts.
 */
export class RuleService {
  constructor(private readonly deps: RuleServiceDeps & { rollouts: () => RolloutService }) {}

  private now(): Date {
    return this.deps.clock?.() ?? new Date();
  }

  private em(): EntityManager {
    return this.deps.orm.em.fork() as EntityManager;
  }

  async create(organizationId: string, input: RuleInput, actor: string, now = this.now()): Promise<RuleRecord> {
    const d = ruleInputSchema.parse(input);
    const em = this.em();
    if (!(await sqlOne(em, `select 1 from organizations where id = ?`, [organizationId]))) throw new AppError('organization_not_found', `no organization ${organizationId}`);
    const row = await this.unique(() =>
      em.transactional(async (tx) => {
        const r = await sqlOne<RuleRow>(
          tx,
          `insert into invitation_rules (organization_id, name, enabled, filter, days_before, local_time, login_method, message, rehires, remind_days_before, remind_max, created_by, updated_by)
           values (?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning *`,
          [organizationId, d.name, d.enabled, JSON.stringify(d.filter), d.daysBefore, d.localTime, d.loginMethod, d.message || null, d.rehires,
            d.reminders?.daysBeforeExpiry ?? null, d.reminders?.maxTimes ?? null, actor, actor],
        );
        await this.audit(tx, r!, 'created', actor, d);
        return r!;
      }),
    );
    const rec = toRuleRecord(row);
    this.deps.log.info({ ruleId: rec.id, organizationId, enabled: rec.enabled }, 'invitation rule created');
    await this.evaluate(rec, now);
    return this.get(rec.id) as Promise<RuleRecord>;
  }

  async update(id: string, patch: RuleUpdate, actor: string, organizationId?: string, now = this.now()): Promise<RuleRecord> {
    const d = ruleUpdateSchema.parse(patch);
    const current = await this.get(id, organizationId);
    if (!current) throw new AppError('not_found', `no invitation rule ${id}`);
    const next = { ...current, ...d, message: d.message === undefined ? current.message : d.message || null, reminders: d.reminders === undefined ? current.reminders : d.reminders };
    const action = d.enabled !== undefined && d.enabled !== current.enabled && Object.keys(d).length === 1 ? (d.enabled ? 'enabled' : 'disabled') : 'updated';
    const row = await this.unique(() =>
      this.em().transactional(async (tx) => {
        const r = await sqlOne<RuleRow>(
          tx,
          `update invitation_rules set name = ?, enabled = ?, filter = ?::jsonb, days_before = ?, local_time = ?, login_method = ?, message = ?, rehires = ?,
                  remind_days_before = ?, remind_max = ?, updated_by = ?, updated_at = now()
            where id = ? returning *`,
          [next.name, next.enabled, JSON.stringify(next.filter), next.daysBefore, next.localTime, next.loginMethod, next.message, next.rehires,
            next.reminders?.daysBeforeExpiry ?? null, next.reminders?.maxTimes ?? null, actor, id],
        );
        await this.audit(tx, r!, action, actor, d);
        return r!;
      }),
    );
    const rec = toRuleRecord(row);
    this.deps.log.info({ ruleId: id, action }, 'invitation rule changed');
    await this.evaluate(rec, now);
    return (await this.get(id))!;
  }

  setEnabled(id: string, enabled: boolean, actor: string, organizationId?: string, now = this.now()): Promise<RuleRecord> {
    return this.update(id, { enabled }, actor, organizationId, now);
  }

  private async audit(em: EntityManager, r: RuleRow, action: string, actor: string, changes: unknown): Promise<void> {
    await sql(em, `insert into invitation_rule_audit (rule_id, organization_id, action, actor, changes) values (?, ?, ?, ?, ?::jsonb)`, [r.id, r.organization_id, action, actor, JSON.stringify(changes)]);
  }

  private async unique<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof UniqueConstraintViolationException) throw new AppError('conflict', 'an invitation rule with this name exists in the organization');
      throw err;
    }
  }

  async get(id: string, organizationId?: string): Promise<RuleRecord | null> {
    if (!isUuid(id)) return null;
    const em = this.em();
    const row = await sqlOne<RuleRow & { planned: string }>(
      em,
      `select r.*, (select count(*) from planned_invitations p where p.rule_id = r.id and p.status = 'planned') as planned
         from invitation_rules r where r.id = ?${organizationId ? ' and r.organization_id = ?' : ''}`,
      organizationId ? [id, organizationId] : [id],
    );
    return row ? { ...toRuleRecord(row), planned: Number(row.planned) } : null;
  }

  async list(organizationId?: string): Promise<RuleRecord[]> {
    const rows = await sql<RuleRow & { planned: string }>(
      this.em(),
      `select r.*, (select count(*) from planned_invitations p where p.rule_id = r.id and p.status = 'planned') as planned
         from invitation_rules r ${organizationId ? 'where r.organization_id = ?' : ''} order by r.organization_id, lower(r.name)`,
      organizationId ? [organizationId] : [],
    );
    return rows.map((r) => ({ ...toRuleRecord(r), planned: Number(r.planned) }));
  }

  async auditLog(id: string, organizationId?: string): Promise<Array<{ action: string; actor: string | null; changes: unknown; at: string }>> {
    if (!(await this.get(id, organizationId))) throw new AppError('not_found', `no invitation rule ${id}`);
    const rows = await sql<{ action: string; actor: string | null; changes: unknown; at: Date }>(this.em(), `select action, actor, changes, at from invitation_rule_audit where rule_id = ? order by id`, [id]);
    return rows.map((r) => ({ ...r, at: new Date(r.at).toISOString() }));
  }

  /** Who this rule (saved, or not yet: `input`) would invite, and when; nothing is written. */
  async preview(organizationId: string, rule: RuleRecord | RuleInput, now = this.now()): Promise<PreviewEntry[]> {
    const r = 'id' in rule ? (rule as RuleRecord) : { ...ruleInputSchema.parse(rule), id: undefined };
    const people = await rulePeople(this.em(), organizationId, { filter: r.filter, id: r.id });
    const byId = new Map(people.map((p) => [p.userId, p]));
    return planRuleInvitations(r, people, now)
      .map((p) => {
        const who = byId.get(p.userId)!;
        // a plan already due keeps its moment, as evaluation does
        const at = who.plannedAt && who.plannedAt.getTime() <= now.getTime() ? who.plannedAt : p.at;
        return { userId: p.userId, firstName: who.firstName, lastName: who.lastName, location: who.location, startDate: p.startDate, timeZone: who.timeZone, at: at.toISOString() };
      })
      .sort((a, b) => a.at.localeCompare(b.at));
  }

  /** Re-plans one rule and queues its changed moments. */
  async evaluate(rule: RuleRecord, now = this.now()): Promise<{ planned: number; moments: number }> {
    const { moments, planned } = await evaluateRule(this.em(), rule, now);
    for (const at of moments) {
      try {
        await this.deps.queues.scheduleRuleMoment(rule.id, at);
      } catch (err) {
        this.deps.log.warn({ ruleId: rule.id, err: (err as Error).message }, 'rule moment not queued; the reconciler will queue it');
      }
    }
    return { planned, moments: moments.length };
  }

  /** After a sync of the organization, and daily: every rule of it re-planned. */
  async evaluateOrganization(organizationId: string, now = this.now()): Promise<{ rules: number; planned: number }> {
    let planned = 0;
    const rules = await this.list(organizationId);
    for (const r of rules) planned += (await this.evaluate(r, now)).planned;
    return { rules: rules.length, planned };
  }

  /** A rule moment's job: re-plan (HR may have changed since), then turn due plans into rollouts. */
  async fire(ruleId: string, now = this.now()): Promise<string[]> {
    const rule = await this.get(ruleId);
    if (!rule) return [];
    await evaluateRule(this.em(), rule, now);
    return fireDuePlans(this.em(), { rollouts: this.deps.rollouts(), log: this.deps.log, reminderDefault: this.deps.reminderDefault }, rule, now);
  }

  /** For the reconciler: every moment still planned, to be queued again if Redis lost it. */
  async plannedMoments(): Promise<Array<{ ruleId: string; at: Date }>> {
    const rows = await sql<{ rule_id: string; due_at: Date }>(this.em(), `select distinct rule_id, due_at from planned_invitations where status = 'planned'`);
    return rows.map((r) => ({ ruleId: r.rule_id, at: new Date(r.due_at) }));
  }
}
