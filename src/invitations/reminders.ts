import type { EntityManager } from '@mikro-orm/postgresql';
import { sql } from '../db/sql.js';
import { reminderDueAt } from '../domain/reminder-plan.js';
import type { Logger } from '../lib/logger.js';
import { toMailSendError } from '../mail/mail-send-error.js';
import type { MailPort, RolloutServiceDeps } from './rollout-types.js';

/** Reminders sent per call: the rest wait for the next reconcile tick. */
const REMINDER_PAGE = 200;

/**
 * Reminders: "remind N days before the link expires, at most K times" (the rule's policy, or
 * the organization's default, copied onto the rollout when it is made) for invitations sent
 * and not accepted. A reminder carries the SAME link: the invitation's clear token is kept
 * (column `token`, like while it is being sent) for as long as its rollout still owes it a
 * reminder, and dropped with the last one, or when the invitation is accepted, expires or is
 * revoked (those clear it). A stored random token exposes the links not yet accepted of
 * rollouts with reminders — no more than the table of sent links did before issue 12; an HMAC
 * needs a secret whose leak opens every link ever sent (see invitation-tokens.ts).
 *
 * Nobody who accepted gets one: an accepted invitation is no longer `sent`, and the user's
 * access is checked too. Rows are taken `for update skip locked`, the reminder counted in
 * the same transaction as the message is handed to the mail server: two workers never remind
 * the same invitation twice; a crash before the commit sends it again, at most once more.
 */
export async function sendDueReminders(deps: Pick<RolloutServiceDeps, 'orm' | 'log' | 'rateLimit'>, mail: MailPort, now = new Date(), opts: { log?: Logger } = {}): Promise<{ reminded: number; failed: number }> {
  const log = opts.log ?? deps.log;
  const em = deps.orm.em.fork() as EntityManager;
  return em.transactional(async (tx) => {
    const t = tx as EntityManager;
    const rows = await sql<{
      id: string; rollout_id: string; token: string; expires_at: Date; reminders_sent: number; remind_days_before: number; remind_max: number;
      login_method: 'password' | 'sso' | 'magic_link'; message: string | null; organization_name: string; email: string; first_name: string | null; last_name: string | null;
    }>(
      t,
      `select i.id, i.rollout_id, i.token, i.expires_at, i.reminders_sent, r.remind_days_before, r.remind_max, r.login_method, r.message,
              o.name as organization_name, u.email, u.first_name, u.last_name
         from invitations i
         join rollouts r on r.id = i.rollout_id
         join users u on u.id = i.user_id
         join organizations o on o.id = i.organization_id
        where i.status = 'sent' and i.token is not null and i.expires_at > ?
          and r.remind_max > i.reminders_sent and r.remind_days_before is not null
          and i.expires_at - make_interval(days => r.remind_days_before) <= ?
          and u.status = 'active' and u.access <> 'active' and u.email is not null
        order by i.expires_at
        limit ? for update of i skip locked`,
      [now, now, REMINDER_PAGE],
    );
    let reminded = 0;
    let failed = 0;
    const done: Array<{ id: string; last: boolean; sent: boolean }> = [];
    for (const r of rows) {
      const due = reminderDueAt(new Date(r.expires_at), r.reminders_sent, { daysBefore: r.remind_days_before, maxTimes: r.remind_max });
      if (!due || due.getTime() > now.getTime()) continue;
      await deps.rateLimit?.(1);
      try {
        await mail.send({
          invitationId: r.id, to: r.email, firstName: r.first_name, lastName: r.last_name, organizationName: r.organization_name,
          loginMethod: r.login_method, message: r.message, token: r.token, expiresAt: new Date(r.expires_at), reminder: r.reminders_sent + 1,
        });
        done.push({ id: r.id, last: r.reminders_sent + 1 >= r.remind_max, sent: true });
        reminded++;
      } catch (err) {
        failed++;
        const e = toMailSendError(err);
        if (e.scope === 'recipient') {
          // the address refuses it: this reminder is spent (not counted as sent), not tried every tick
          done.push({ id: r.id, last: r.reminders_sent + 1 >= r.remind_max, sent: false });
          log.warn({ invitationId: r.id, reason: e.reason }, 'reminder refused by the recipient\'s server');
          continue;
        }
        // the sender's or the server's fault: the rest wait for the next tick
        log.warn({ invitationId: r.id, reason: e.reason }, 'reminders not sent: mail server unavailable or refusing; tried again later');
        break;
      }
    }
    if (done.length > 0) {
      await sql(
        t,
        `with x as (select * from jsonb_to_recordset(?::jsonb) as x(id uuid, last boolean, sent boolean)),
         inv as (
           update invitations i set reminders_sent = i.reminders_sent + 1, reminded_at = case when x.sent then now() else i.reminded_at end, updated_at = now(),
                  token = case when x.last then null else i.token end
             from x where i.id = x.id returning i.rollout_id, x.sent)
         update rollouts r set reminded = r.reminded + c.n, updated_at = now()
           from (select rollout_id, count(*) filter (where sent) as n from inv group by rollout_id) c where r.id = c.rollout_id`,
        [JSON.stringify(done)],
      );
      log.info({ reminded, failed }, 'invitation reminders sent');
    }
    return { reminded, failed };
  });
}
