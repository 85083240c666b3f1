import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleMoment } from '../../src/domain/rule-plan.js';
import { addDays, localDate } from '../../src/domain/zoned-time.js';
import type { RuleRecord } from '../../src/rules/rule-service.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, waitFor, type TestService } from '../support/service.js';
import { employee, toCsv, type Row } from '../support/store.js';

/**
 * Property: with invitation rules present, a sync (through the queue, whose hook re-plans the
 * rules) never invites anyone, and afterwards each rule's plan is exactly what HR says — the
 * people its selection names who are active joiners (rehires only where the rule counts them),
 * each at N days before their start date at the local time in their location's zone (or the
 * organization's). The oracle is computed from the generated HR listings alone.
 */
let sink: SmtpSink;
let svc: TestService;
let rules: RuleRecord[];
const TZ: Record<string, string> = { Berlin: 'Europe/Berlin', Paris: 'UTC' /* no zone of its own: the organization's */ };

beforeAll(async () => {
  sink = await startSmtpSink();
  svc = await startTestService({ smtpUrl: sink.url, orgConfig: { timezone: 'UTC', locations: [{ name: 'Berlin', timeZone: 'Europe/Berlin' }] } });
  const r = svc.ctx.rules();
  rules = [
    await r.create(svc.org, { name: 'Berlin', filter: { location: 'Berlin' }, daysBefore: 3, localTime: '09:00', loginMethod: 'sso', enabled: true }, 'admin:test'),
    await r.create(svc.org, { name: 'Group G, rehires too', filter: { group: 'G' }, daysBefore: 10, localTime: '23:30', loginMethod: 'password', enabled: true, rehires: true }, 'admin:test'),
    await r.create(svc.org, { name: 'Everyone, off', daysBefore: 1, localTime: '08:00', loginMethod: 'password', enabled: false }, 'admin:test'),
  ];
}, 60_000);
afterAll(async () => {
  await svc?.close();
  await sink?.close();
});

async function syncThroughQueue(rows: Row[]): Promise<void> {
  const path = (svc.ctx.config.organizations[0]!.connectors[0]!.options as { path: string }).path;
  writeFileSync(path, toCsv(rows));
  const { jobId } = await svc.ctx.enqueueSync({ connectorId: svc.connector, trigger: 'api' });
  await waitFor(async () => (await svc.ctx.queues().sync.getJobState(jobId)) === 'completed', 30_000, 20);
}

interface P { location: 'Berlin' | 'Paris'; group: 'G' | 'H'; active: boolean; start: number | null }
const personArb = fc.record({
  location: fc.constantFrom('Berlin' as const, 'Paris' as const),
  group: fc.constantFrom('G' as const, 'H' as const),
  active: fc.boolean(),
  // days from today: joiners ahead (never due during the test), staff long gone, or no date
  start: fc.option(fc.oneof(fc.integer({ min: 12, max: 120 }), fc.constant(-3000)), { nil: null }),
});

describe('rules and syncs', () => {
  it('a sync invites nobody, and every rule plans exactly the joiners HR names, at their local moment', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(personArb, { minLength: 6, maxLength: 6 }), { minLength: 3, maxLength: 3 }), async (snapshots) => {
        run++;
        const today = localDate(new Date(), 'UTC');
        const everActive = new Set<number>();
        const deactivated = new Set<number>(); // by sync: a rehire when active again
        for (const snap of snapshots) {
          const rows = snap.map((p, k) => {
            const i = run * 100 + k;
            return employee(i, { location: p.location, department: p.group, status: p.active ? 'active' : 'inactive', managerId: '', startDate: p.start === null ? '' : addDays(today, p.start) });
          });
          const before = (await svc.store.query(`select 1 from invitations`)).length;
          await syncThroughQueue(rows);
          expect((await svc.store.query(`select 1 from invitations`)).length).toBe(before);
          snap.forEach((p, k) => {
            if (p.active) everActive.add(k);
            else if (everActive.has(k)) deactivated.add(k);
          });
          for (const rule of rules) {
            const want = new Map<string, string>();
            snap.forEach((p: P, k) => {
              if (!rule.enabled || !p.active || p.start === null || p.start < 0) return;
              if (rule.filter.location && rule.filter.location !== p.location) return;
              if (rule.filter.group && rule.filter.group !== p.group) return;
              if (deactivated.has(k) && !rule.rehires) return;
              want.set(`person${run * 100 + k}@acme.example`, ruleMoment(rule, addDays(today, p.start), TZ[p.location]!).toISOString());
            });
            const got = await svc.store.query<{ email: string; due_at: Date }>(
              `select u.email, p.due_at from planned_invitations p join users u on u.id = p.user_id where p.rule_id = $1 and p.status = 'planned' and u.email like $2`,
              [rule.id, `person${run}__@%`],
            );
            expect(new Map(got.map((g) => [g.email, new Date(g.due_at).toISOString()]))).toEqual(want);
          }
        }
      }),
      { numRuns: 30 },
    );
    expect(sink.messages).toHaveLength(0);
  }, 240_000);
});
