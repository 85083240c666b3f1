import { Migration } from '@mikro-orm/migrations';

/**
 * One live invitation per user, enforced by PostgreSQL (issue 12).
 *
 * - Expiry becomes a status: `sent` invitations past `expires_at` turn `expired`, and users
 *   left `invited` with no live invitation go back to access `none`.
 * - Duplicate live invitations (pending, sending, sent) of one user: the newest sent one is kept
 *   (a link the user holds keeps working), else the newest; the others are revoked (sent: their
 *   links stop working) or cancelled (pending, sending: not mailed, and never will be).
 * - The partial unique index `invitations_live_user_uq` then forbids a second live invitation.
 * - `token`: the clear token of a claimed invitation while it is pending or sending, so that a
 *   message sent again (after a crash, a transient failure) carries the same link. Cleared once
 *   the invitation is sent, failed, cancelled or accepted.
 * - `idempotency_keys`: `Idempotency-Key` of POST /api/rollouts and POST /api/users, per organization.
 */
export class Migration20261205120000_one_live_invitation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table invitations add column token text;

update invitations set status = 'expired', updated_at = now()
 where status = 'sent' and expires_at is not null and expires_at <= now();

with ranked as (
  select id, status, row_number() over (partition by user_id order by (status = 'sent') desc, created_at desc, id desc) as rn
    from invitations where status in ('pending', 'sending', 'sent'))
update invitations i
   set status = case when r.status = 'sent' then 'revoked' else 'cancelled' end,
       last_error = coalesce(i.last_error, 'duplicate_invitation'), updated_at = now()
  from ranked r
 where i.id = r.id and r.rn > 1;

update users u set access = 'none', updated_at = now()
 where u.access = 'invited'
   and exists (select 1 from invitations i where i.user_id = u.id)
   and not exists (select 1 from invitations i where i.user_id = u.id and i.status in ('pending', 'sending', 'sent', 'accepted'));

create unique index invitations_live_user_uq on invitations (user_id) where status in ('pending', 'sending', 'sent');
create index invitations_sent_expiry_idx on invitations (expires_at) where status = 'sent';

create table idempotency_keys (
  organization_id text not null,
  scope text not null,
  key text not null,
  request_hash text not null,
  status_code int,
  response jsonb,
  created_at timestamptz not null default now(),
  primary key (organization_id, scope, key)
);
create index idempotency_keys_created_idx on idempotency_keys (created_at);
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop table if exists idempotency_keys;
drop index if exists invitations_sent_expiry_idx;
drop index if exists invitations_live_user_uq;
alter table invitations drop column if exists token;
`);
  }
}
