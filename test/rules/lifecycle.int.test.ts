import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluateJobId } from '../../jobs/lifecycle/queue.js';
import { startWorkers, type RunningWorkers } from '../../jobs/workers.js';
import { checkInvariants, formatInvariantReport } from '../../src/db/invariants.js';
import { endOfDay } from '../../src/domain/leaver-plan.js';
import { ruleMoment } from '../../src/domain/rule-plan.js';
import { addDays, localDate } from '../../src/domain/zoned-time.js';
import { getUser } from '../../src/users/user-service.js';
import { startPrivateRedis } from '../support/redis.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, tokenOf, waitFor, type TestService } from '../support/service.js';
import { employee, type Row } from '../support/store.js';

/**
 * HR dates drive the lifecycle, against the real PostgreSQL, a private Redis (flushed in one
 * test) and a real SMTP sink. The lifecycle's clock is injected (`advanceTo`): delayed jobs
 * that come early find nothing due and the reconciler queues them again for their moment, so
 * moving the clock is what a wait of days would be.
 */
let sink: SmtpSink;
let svc: TestService;
let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let w: RunningWorkers;
let offset = 0;
const clock = () => new Date(Date.now() + offset);

const roster = new Map<number, Row>();
const other = new Map<number, Row>();
const person = (i: number, over: Partial<Row>) => roster.set(i, { ...(roster.get(i) ?? employee(i)), managerId: '', ...over });
const email = (i: number) => `person${i}@acme.example`;
const to = (i: number) => sink.messages.filter((m) => m.envelope.to[0] === email(i));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A full listing of acme, synced through the queue: the sync job's hook re-plans rules and leavers. */
async function hrSync(): Promise<void> {
  const { writeFileSync } = await import('node:fs');
  const { toCsv } = await import('../support/store.js');
  const path = (svc.ctx.config.organizations[0]!.connectors[0]!.options as { path: string }).path;
  writeFileSync(path, toCsv([...roster.values()]));
  const { jobId } = await svc.ctx.enqueueSync({ connectorId: svc.connector, trigger: 'api' });
  await waitFor(async () => (await svc.ctx.queues().sync.getJobState(jobId)) === 'completed', 30_000, 50);
}

async function advanceTo(t: Date): Promise<void> {
  offset = t.getTime() - Date.now();
  // Delayed jobs run now: those early find nothing due and are queued again for their moment.
  await svc.ctx.queues().lifecycle.promoteJobs();
  await w.reconcileNow();
}

const plans = async (ruleId: string) =>
  Object.fromEntries(
    (await svc.store.query<{ email: string; due_at: Date; status: string }>(
      `select u.email, p.due_at, p.status from planned_invitations p join users u on u.id = p.user_id where p.rule_id = $1`,
      [ruleId],
    )).map((r) => [r.email, `${r.status} ${new Date(r.due_at).toISOString()}`]),
  );
const userId = async (i: number) => (await svc.store.query<{ id: string }>(`select id from users where email = $1`, [email(i)]))[0]!.id;
const statusOf = async (i: number) => (await svc.store.query<{ status: string }>(`select status from users where email = $1`, [email(i)]))[0]!.status;
const today = () => localDate(clock(), 'UTC');

beforeAll(async () => {
  sink = await startSmtpSink();
  redis = await startPrivateRedis();
  svc = await startTestService({
    smtpUrl: sink.url,
    redisUrl: redis.url,
    workers: false,
    extraOrg: true,
    orgConfig: {
      timezone: 'UTC',
      locations: [
        { name: 'Berlin', timeZone: 'Europe/Berlin' },
        { name: 'New York', timeZone: 'America/New_York' },
        { name: 'Lisbon', timeZone: 'Europe/Lisbon' },
      ],
      reminders: { daysBeforeExpiry: 1, maxTimes: 2 }, // the organization's default
    },
  });
  w = await startWorkers(svc.ctx, { clock });
  svc.workers = w;
  // existing staff: start dates long past — no rule ever makes them joiners
  person(1, { location: 'Munich', department: 'Launch' });
  person(2, { location: 'Berlin', department: 'Launch' });
  await hrSync();
}, 60_000);

afterAll(async () => {
  await svc?.close();
  await redis?.stop();
  await sink?.close();
});

describe('reminders', () => {
  it('N days before expiry, with the same link, once (K = 1); nobody who accepted gets one', async () => {
    const start = addDays(today(), 1); // the moment (3 days before) is past: a late hire, invited now
    person(201, { location: 'Lisbon', department: 'RemindA', startDate: start });
    person(202, { location: 'Lisbon', department: 'RemindA', startDate: start });
    await hrSync();
    const rule = await w.rules.create(svc.org, { name: 'Lisbon joiners', filter: { group: 'RemindA' }, daysBefore: 3, localTime: '09:00', loginMethod: 'magic_link', enabled: true, reminders: { daysBeforeExpiry: 2, maxTimes: 1 } }, 'admin:test');
    await waitFor(async () => to(201).length === 1 && to(202).length === 1, 20_000);
    const link201 = tokenOf(to(201)[0]!.text);
    await w.rollouts.accept(tokenOf(to(202)[0]!.text));
    const [inv] = await svc.store.query<{ expires_at: Date; rollout_id: string }>(`select expires_at, rollout_id from invitations where user_id = $1`, [await userId(201)]);
    // a day before the reminder is due: none
    await advanceTo(new Date(new Date(inv!.expires_at).getTime() - 3 * 86_400_000));
    await sleep(1_500);
    expect(to(201)).toHaveLength(1);
    await advanceTo(new Date(new Date(inv!.expires_at).getTime() - 2 * 86_400_000 + 60_000));
    await waitFor(async () => to(201).length === 2, 10_000);
    const reminder = to(201)[1]!;
    expect(reminder.subject).toMatch(/^Reminder: /);
    expect(reminder.text).toContain('your invitation is still waiting for you');
    expect(tokenOf(reminder.text)).toBe(link201);
    await advanceTo(new Date(new Date(inv!.expires_at).getTime() - 86_400_000));
    await sleep(2_000);
    expect(to(201)).toHaveLength(2); // at most K = 1
    expect(to(202)).toHaveLength(1); // accepted: no reminder
    const r = await w.rollouts.get(inv!.rollout_id);
    expect(r).toMatchObject({ ruleId: rule.id, counts: { reminded: 1 } });
    // the reminded link is the invitation's: it works
    await expect(w.rollouts.accept(link201)).resolves.toMatchObject({ userId: await userId(201) });
  }, 60_000);
});

describe('a rule "3 days before the start date, 09:00 local"', () => {
  it('invites each person once, at their local 09:00, across the DST changes of Berlin and New York', async () => {
    // 2027: New York goes to summer time on 14 March, Berlin on 28 March
    person(101, { location: 'Berlin', department: 'Launch', startDate: '2027-03-30' });
    person(102, { location: 'Berlin', department: 'Launch', startDate: '2027-03-31' });
    person(103, { location: 'New York', department: 'Launch', startDate: '2027-03-16' });
    person(104, { location: 'New York', department: 'Launch', startDate: '2027-03-17' });
    await hrSync();
    const invitationsBefore = (await svc.store.query(`select 1 from invitations`)).length;
    const rule = await w.rules.create(svc.org, { name: 'Launch joiners', filter: { group: 'Launch' }, daysBefore: 3, localTime: '09:00', loginMethod: 'sso', enabled: true }, 'admin:test');
    const expected = {
      [email(101)]: 'planned 2027-03-27T08:00:00.000Z', // CET
      [email(102)]: 'planned 2027-03-28T07:00:00.000Z', // CEST, the day the clocks went forward
      [email(103)]: 'planned 2027-03-13T14:00:00.000Z', // EST
      [email(104)]: 'planned 2027-03-14T13:00:00.000Z', // EDT, the day the clocks went forward
    };
    expect(await plans(rule.id)).toEqual(expected); // existing staff (1, 2) are no joiners
    const preview = await svc.ctx.rules().preview(svc.org, rule, clock());
    expect(preview.map((p) => p.at)).toEqual(Object.values(expected).map((v) => v.slice(8)).sort());
    expect((await svc.store.query(`select 1 from invitations`)).length).toBe(invitationsBefore); // planning is not inviting

    for (const [i, at] of [[103, '2027-03-13T14:00:00Z'], [104, '2027-03-14T13:00:00Z'], [101, '2027-03-27T08:00:00Z'], [102, '2027-03-28T07:00:00Z']] as const) {
      const moment = new Date(at);
      await advanceTo(new Date(moment.getTime() - 60_000));
      await sleep(1_200);
      expect(to(i)).toHaveLength(0); // not before
      await advanceTo(moment);
      await waitFor(async () => to(i).length === 1, 15_000);
    }
    await sleep(1_000);
    for (const i of [101, 102, 103, 104]) expect(to(i)).toHaveLength(1);
    for (const i of [1, 2]) expect(to(i)).toHaveLength(0);
    const rollouts = await svc.store.query<{ id: string; n: string }>(`select r.id, count(i.id) as n from rollouts r join invitations i on i.rollout_id = r.id where r.rule_id = $1 group by r.id`, [rule.id]);
    expect(rollouts.map((r) => Number(r.n))).toEqual([1, 1, 1, 1]); // one ordinary rollout per moment
    expect(Object.values(await plans(rule.id)).every((p) => p.startsWith('fired'))).toBe(true);
  }, 120_000);

  it('follows HR: a moved start date moves it, leaving the location drops it, rehires only when the rule says so; off sends nothing more', async () => {
    const base = today();
    person(303, { location: 'Berlin', department: 'T3', startDate: '2020-01-01' });
    await hrSync();
    person(303, { status: 'inactive' }); // leaves …
    await hrSync();
    person(303, { status: 'active', startDate: addDays(base, 10) }); // … and is rehired
    person(301, { location: 'Berlin', department: 'T3', startDate: addDays(base, 10) });
    person(302, { location: 'Berlin', department: 'T3', startDate: addDays(base, 10) });
    await hrSync();
    const rule = await w.rules.create(svc.org, { name: 'Berlin T3', filter: { location: 'Berlin', group: 'T3' }, daysBefore: 3, localTime: '09:00', loginMethod: 'password', enabled: true }, 'admin:alice');
    const first = ruleMoment({ daysBefore: 3, localTime: '09:00' }, addDays(base, 10), 'Europe/Berlin');
    expect(await plans(rule.id)).toEqual({ [email(301)]: `planned ${first.toISOString()}`, [email(302)]: `planned ${first.toISOString()}` });

    const invitations = (await svc.store.query(`select 1 from invitations`)).length;
    person(301, { startDate: addDays(base, 17) }); // HR moves the start date
    person(302, { location: 'Munich' }); // and moves 302 out of Berlin
    await hrSync();
    const moved = ruleMoment({ daysBefore: 3, localTime: '09:00' }, addDays(base, 17), 'Europe/Berlin');
    expect(await plans(rule.id)).toEqual({ [email(301)]: `planned ${moved.toISOString()}` });
    expect((await svc.store.query(`select 1 from invitations`)).length).toBe(invitations); // a sync invites nobody

    await advanceTo(new Date(first.getTime() + 60_000));
    await sleep(1_500);
    expect([...to(301), ...to(302), ...to(303)]).toHaveLength(0);
    await advanceTo(moved);
    await waitFor(async () => to(301).length === 1, 15_000);

    // the rule now counts rehires: 303 is planned (their moment passed: now) and invited
    await w.rules.update(rule.id, { rehires: true }, 'admin:bob');
    await waitFor(async () => to(303).length === 1, 15_000);

    // a joiner planned, then the rule switched off: the plan goes, nothing is sent
    person(304, { location: 'Berlin', department: 'T3', startDate: addDays(today(), 10) });
    await hrSync();
    expect((await plans(rule.id))[email(304)]).toMatch(/^planned/);
    await w.rules.setEnabled(rule.id, false, 'admin:carol');
    expect(await plans(rule.id)).toEqual({ [email(301)]: expect.stringMatching(/^fired/), [email(303)]: expect.stringMatching(/^fired/) });
    await hrSync(); // and a sync does not bring it back
    expect(Object.keys(await plans(rule.id)).sort()).toEqual([email(301), email(303)]);
    await advanceTo(ruleMoment({ daysBefore: 3, localTime: '09:00' }, addDays(today(), 10), 'Europe/Berlin'));
    await sleep(1_500);
    expect(to(304)).toHaveLength(0);
    expect(to(302)).toHaveLength(0);
    const audit = await w.rules.auditLog(rule.id);
    expect(audit.map((a) => [a.action, a.actor])).toEqual([['created', 'admin:alice'], ['updated', 'admin:bob'], ['disabled', 'admin:carol']]);
  }, 120_000);
});

describe('leavers on their last day', () => {
  it('an end date three days ahead deactivates at the end of that day in their zone, not before; a removed end date cancels', async () => {
    const last = addDays(today(), 3);
    person(401, { location: 'New York', department: 'L4', startDate: '2020-01-01', endDate: last });
    person(402, { location: 'New York', department: 'L4', startDate: '2020-01-01', endDate: last });
    await hrSync();
    const end = endOfDay(last, 'America/New_York');
    const u401 = await getUser(svc.ctx.em(), await userId(401));
    expect(u401!.plannedDeactivationAt).toBe(end.toISOString());
    // an open invitation, revoked with the deactivation
    const r = await w.rollouts.create(svc.org, { userIds: [u401!.id], loginMethod: 'sso' }, { createdBy: 'admin:test' });
    await waitFor(async () => to(401).length === 1, 15_000);
    person(402, { endDate: '' }); // HR removes the date
    await hrSync();
    expect((await getUser(svc.ctx.em(), await userId(402)))!.plannedDeactivationAt).toBeNull();

    await advanceTo(new Date(end.getTime() - 60_000));
    await sleep(1_500);
    expect(await statusOf(401)).toBe('active');
    await advanceTo(end);
    await waitFor(async () => (await statusOf(401)) === 'deactivated', 15_000);
    expect(await statusOf(402)).toBe('active');
    const inv = await svc.store.query<{ status: string }>(`select status from invitations where rollout_id = $1`, [r.id]);
    expect(inv.map((i) => i.status)).toEqual(['revoked']);
    const runs = await svc.store.query<{ trigger: string; status: string; deactivated: number }>(
      `select trigger, status, (counts->>'deactivated')::int as deactivated from sync_runs where id = (select run_id from planned_deactivations where user_id = $1)`,
      [u401!.id],
    );
    expect(runs).toEqual([{ trigger: 'schedule', status: 'succeeded', deactivated: 1 }]);
    // the person's history names the end-date rule and its run as the cause
    const runId = (await svc.store.query<{ run_id: string }>(`select run_id from planned_deactivations where user_id = $1`, [u401!.id]))[0]!.run_id;
    const events = await svc.store.query<{ actor_type: string; actor_id: string }>(`select actor_type, actor_id from user_events where user_id = $1 and kind = 'deactivated'`, [u401!.id]);
    expect(events).toEqual([{ actor_type: 'rule', actor_id: runId }]);
    await expect(w.rollouts.accept(tokenOf(to(401)[0]!.text))).rejects.toMatchObject({ code: 'invitation_invalid' });
  }, 60_000);

  it('30 % of an organization leaving on one day is held for approval, then applied', async () => {
    const last = addDays(today(), 2);
    for (let i = 1; i <= 10; i++) other.set(i, { ...employee(900 + i), email: `g${i}@globex.example`, managerId: '', location: 'Oslo', endDate: i <= 3 ? last : '' });
    expect(await svc.syncOther([...other.values()])).toBe('succeeded');
    await w.leavers.evaluate('globex');
    // what the notifications are told (the notifier itself, listened to: its deliveries need endpoints)
    const told: Array<{ type: string; organizationId: string; data: unknown }> = [];
    const notifier = svc.ctx.notifier;
    const emit = notifier.emitSafely.bind(notifier);
    notifier.emitSafely = (e) => {
      told.push(e);
      emit(e);
    };
    const end = endOfDay(last, 'UTC');
    await advanceTo(end);
    const held = await waitFor(async () => (await svc.store.query<{ id: string; held_reason: string }>(`select id, held_reason from sync_runs where connector_id = 'globex-hr' and status = 'needs_approval'`))[0], 15_000);
    expect(held.held_reason).toMatch(/3 deactivations \(30% of 10 users\) exceed maxPercent 10/);
    // the administrators are told: one rules.deactivations_over_threshold event naming the held run
    expect(told.filter((e) => e.type === 'rules.deactivations_over_threshold')).toEqual([
      expect.objectContaining({ organizationId: 'globex', data: { ruleId: 'leavers', connectorId: 'globex-hr', runId: held.id, planned: 3, threshold: 1 } }),
    ]);
    const active = async () => (await svc.store.query(`select 1 from users where organization_id = 'globex' and status = 'active'`)).length;
    expect(await active()).toBe(10);
    await svc.ctx.sync.approve(held.id, 'admin:test');
    expect(await active()).toBe(7);
  }, 60_000);
});

describe('Redis loses everything', () => {
  it('planned invitations and deactivations still happen at their moment', async () => {
    person(601, { location: 'Berlin', department: 'T6', startDate: addDays(today(), 6) });
    person(602, { location: 'Berlin', department: 'T6', startDate: '2020-01-01', endDate: addDays(today(), 2) });
    await hrSync();
    const rule = await w.rules.create(svc.org, { name: 'T6', filter: { group: 'T6' }, daysBefore: 3, localTime: '09:00', loginMethod: 'sso', enabled: true }, 'admin:test');
    const moment = ruleMoment({ daysBefore: 3, localTime: '09:00' }, addDays(today(), 6), 'Europe/Berlin');
    const end = endOfDay(addDays(today(), 2), 'Europe/Berlin');
    expect(Object.keys(await plans(rule.id))).toEqual([email(601)]);
    expect(await svc.ctx.queues().lifecycle.getDelayedCount()).toBeGreaterThanOrEqual(2);
    await redis.flushAll();
    expect(await svc.ctx.queues().lifecycle.getDelayedCount()).toBe(0);
    await w.reconcileNow();
    expect(await svc.ctx.queues().lifecycle.getDelayedCount()).toBeGreaterThanOrEqual(2); // queued again from PostgreSQL
    await advanceTo(end);
    await waitFor(async () => (await statusOf(602)) === 'deactivated', 15_000);
    expect(to(601)).toHaveLength(0);
    await advanceTo(moment);
    await waitFor(async () => to(601).length === 1, 15_000);
  }, 60_000);
});

describe('the daily evaluation', () => {
  it('re-plans what changed without a sync job (a start date written by another path)', async () => {
    const rule = (await w.rules.list(svc.org)).find((r) => r.name === 'T6')!;
    person(701, { location: 'Berlin', department: 'T6', startDate: '2020-01-01' });
    await hrSync();
    expect(Object.keys(await plans(rule.id))).not.toContain(email(701));
    const start = addDays(today(), 9);
    await svc.store.query(`update users set start_date = $1 where email = $2`, [start, email(701)]);
    const day = today();
    await svc.ctx.queues().lifecycle.add('evaluate', { organizationId: svc.org, day }, { jobId: evaluateJobId(svc.org, day) });
    await waitFor(async () => (await plans(rule.id))[email(701)] === `planned ${ruleMoment({ daysBefore: 3, localTime: '09:00' }, start, 'Europe/Berlin').toISOString()}`, 10_000);
  });
});

describe('only an administrator\'s decision invites', () => {
  it('every invitation is an administrator\'s rollout or a rule\'s, for people that rule planned', async () => {
    const rows = await svc.store.query<{ rule_id: string | null; created_by: string | null; planned: boolean }>(
      `select r.rule_id, r.created_by,
              exists (select 1 from planned_invitations p where p.rule_id = r.rule_id and p.user_id = i.user_id and p.rollout_id = r.id) as planned
         from invitations i join rollouts r on r.id = i.rollout_id`,
    );
    expect(rows.length).toBeGreaterThan(5);
    for (const r of rows) {
      if (r.rule_id) expect(r.planned).toBe(true);
      else expect(r.created_by).toBe('admin:test');
    }
    for (const i of [1, 2, 302, 304]) expect(to(i)).toHaveLength(0);
  });

  it('the store\'s invariants hold (tokens kept for reminders included)', async () => {
    const kept = await svc.store.query(`select 1 from invitations where status = 'sent' and token is not null`);
    expect(kept.length).toBeGreaterThan(0); // the organization's default owes reminders
    const report = await checkInvariants(svc.ctx.em());
    expect(report.ok, formatInvariantReport(report)).toBe(true);
  });

  it('rollouts carry their reminder policy: the rule\'s, else the organization\'s default', async () => {
    const rows = await svc.store.query<{ name: string | null; remind_days_before: number | null; remind_max: number }>(
      `select ir.name, r.remind_days_before, r.remind_max from rollouts r left join invitation_rules ir on ir.id = r.rule_id`,
    );
    const policy = (name: string | null) => [...new Set(rows.filter((r) => r.name === name).map((r) => `${r.remind_days_before}:${r.remind_max}`))];
    expect(policy('Lisbon joiners')).toEqual(['2:1']);
    expect(policy('Launch joiners')).toEqual(['1:2']);
    expect(policy(null)).toEqual(['1:2']); // an administrator's rollout
  });
});
