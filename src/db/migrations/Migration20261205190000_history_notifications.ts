import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 19: per-person history and outbound notifications.
 *
 * user_events is append-only (an UPDATE is refused; rows leave only through the retention
 * pruner). It is written by statement-level triggers with transition tables, so every path
 * that changes a user (a sync page, a pushed change, an administrator's edit, a rule, an
 * invitation's progress) records its events set-based — one INSERT … SELECT per statement,
 * in the same transaction — without each writer having to remember. Who did it comes from
 * transaction-local settings (`hrsync.actor_type`, `hrsync.actor_id`, `hrsync.approved_by`;
 * src/db/history-actor.ts); a write that set none is recorded as `system`.
 */
export class Migration20261205190000_history_notifications extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
-- No primary key index: ids are unique by the identity (always generated), and every read goes
-- through (user_id, id) or (organization_id, at, id); one btree fewer on every sync's writes.
create table if not exists user_events (
  id bigint generated always as identity,
  organization_id text not null,
  user_id uuid not null,
  at timestamptz not null default now(),
  kind text not null,
  actor_type text not null check (actor_type in ('run', 'rollout', 'admin', 'token', 'rule', 'scim', 'webhook', 'user', 'cli', 'system')),
  actor_id text,
  data jsonb not null default '{}'
);
create index if not exists user_events_user_idx on user_events (user_id, id);
create index if not exists user_events_org_at_idx on user_events (organization_id, at, id);
create index if not exists user_events_at_brin on user_events using brin (at);

create or replace function hrsync_actor_type() returns text language sql stable as $$
  select coalesce(nullif(current_setting('hrsync.actor_type', true), ''), 'system') $$;
create or replace function hrsync_actor_id() returns text language sql stable as $$
  select nullif(current_setting('hrsync.actor_id', true), '') $$;

create or replace function user_events_refuse_update() returns trigger language plpgsql as $$
begin
  raise exception 'user_events is append-only';
end $$;
drop trigger if exists user_events_append_only on user_events;
create trigger user_events_append_only before update on user_events for each statement execute function user_events_refuse_update();

-- The actor is read once per statement (reading the settings per row cost more than the rows' JSON).
create or replace function user_history_created() returns trigger language plpgsql as $$
declare
  actor_t text := hrsync_actor_type();
  actor_i text := hrsync_actor_id();
begin
  insert into user_events (organization_id, user_id, kind, actor_type, actor_id, data)
  select n.organization_id, n.id, 'created', actor_t, actor_i,
         jsonb_strip_nulls(jsonb_build_object(
           'connectorId', n.connector_id, 'employeeId', n.external_id, 'source', n.source,
           'status', case when n.status <> 'active' then n.status end,
           'fields', jsonb_strip_nulls(jsonb_build_object(
             'email', n.email, 'firstName', n.first_name, 'lastName', n.last_name, 'jobTitle', n.job_title,
             'locationId', n.location_id, 'managerEmployeeId', n.manager_external_id,
             'startDate', n.start_date, 'endDate', n.end_date))))
    from new_users n;
  return null;
end $$;
drop trigger if exists user_history_insert on users;
create trigger user_history_insert after insert on users referencing new table as new_users
  for each statement execute function user_history_created();

create or replace function user_history_changed() returns trigger language plpgsql as $$
declare
  actor_t text := hrsync_actor_type();
  actor_i text := hrsync_actor_id();
  approved text := nullif(current_setting('hrsync.approved_by', true), '');
begin
  insert into user_events (organization_id, user_id, kind, actor_type, actor_id, data)
  select c.organization_id, c.id, c.kind, actor_t, actor_i,
         jsonb_strip_nulls(jsonb_build_object(
           'changes', case when c.changes <> '{}'::jsonb then c.changes end,
           'by', case when c.kind = 'deactivated' then c.deactivated_by when c.kind = 'reactivated' then c.was_deactivated_by end,
           'approvedBy', case when c.kind = 'deactivated' then approved end))
    from (
      select n.organization_id, n.id, n.deactivated_by, o.deactivated_by as was_deactivated_by,
             case when o.status = 'active' and n.status <> 'active' then 'deactivated'
                  when o.status <> 'active' and n.status = 'active' then 'reactivated'
                  when o.connector_id is distinct from n.connector_id and o.connector_id is null then 'linked'
                  else 'updated' end as kind,
             jsonb_strip_nulls(jsonb_build_object(
               'email', case when o.email is distinct from n.email then jsonb_build_array(o.email, n.email) end,
               'firstName', case when o.first_name is distinct from n.first_name then jsonb_build_array(o.first_name, n.first_name) end,
               'lastName', case when o.last_name is distinct from n.last_name then jsonb_build_array(o.last_name, n.last_name) end,
               'jobTitle', case when o.job_title is distinct from n.job_title then jsonb_build_array(o.job_title, n.job_title) end,
               'locationId', case when o.location_id is distinct from n.location_id then jsonb_build_array(o.location_id, n.location_id) end,
               'managerEmployeeId', case when o.manager_external_id is distinct from n.manager_external_id then jsonb_build_array(o.manager_external_id, n.manager_external_id) end,
               'roles', case when o.roles is distinct from n.roles then jsonb_build_array(o.roles, n.roles) end,
               'attributes', case when o.attributes is distinct from n.attributes then jsonb_build_array(o.attributes, n.attributes) end,
               'startDate', case when o.start_date is distinct from n.start_date then jsonb_build_array(o.start_date, n.start_date) end,
               'endDate', case when o.end_date is distinct from n.end_date then jsonb_build_array(o.end_date, n.end_date) end,
               'connectorId', case when o.connector_id is distinct from n.connector_id then jsonb_build_array(o.connector_id, n.connector_id) end,
               'employeeId', case when o.external_id is distinct from n.external_id then jsonb_build_array(o.external_id, n.external_id) end)) as changes,
             o.status <> n.status as status_changed
        from old_users o join new_users n on n.id = o.id) c
   where c.status_changed or c.changes <> '{}'::jsonb;
  return null;
end $$;
drop trigger if exists user_history_update on users;
create trigger user_history_update after update on users referencing old table as old_users new table as new_users
  for each statement execute function user_history_changed();

create or replace function user_history_invitations() returns trigger language plpgsql as $$
declare
  actor_t text := hrsync_actor_type();
  actor_i text := hrsync_actor_id();
begin
  insert into user_events (organization_id, user_id, kind, actor_type, actor_id, data)
  select n.organization_id, n.user_id, e.kind,
         case when e.kind in ('invited', 'invitation_resent', 'invitation_failed') then 'rollout'
              when e.kind = 'invitation_accepted' then 'user'
              else actor_t end,
         case when e.kind in ('invited', 'invitation_resent', 'invitation_failed') then n.rollout_id::text
              when e.kind = 'invitation_accepted' then n.user_id::text
              else actor_i end,
         jsonb_strip_nulls(jsonb_build_object('invitationId', n.id, 'rolloutId', n.rollout_id, 'loginMethod', n.login_method,
           'reason', case when e.kind in ('invitation_failed', 'invitation_revoked', 'invitation_cancelled') then n.last_error end,
           'expiresAt', case when e.kind in ('invited', 'invitation_resent') then n.expires_at end))
    from old_invitations o join new_invitations n on n.id = o.id
    join rollouts r on r.id = n.rollout_id
    cross join lateral (select case n.status
        when 'sent' then case when r.resend then 'invitation_resent' else 'invited' end
        when 'accepted' then 'invitation_accepted'
        when 'expired' then 'invitation_expired'
        when 'revoked' then 'invitation_revoked'
        when 'failed' then 'invitation_failed'
        when 'cancelled' then case when o.status = 'sent' then 'invitation_revoked' end
      end as kind) e
   where o.status is distinct from n.status and e.kind is not null;
  return null;
end $$;
drop trigger if exists user_history_invitation_update on invitations;
create trigger user_history_invitation_update after update on invitations referencing old table as old_invitations new table as new_invitations
  for each statement execute function user_history_invitations();

-- outbound notifications: one row per (event, endpoint); the endpoint's state (consecutive failures, disabled)
create table if not exists notification_deliveries (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null,
  endpoint_id text not null,
  event_id uuid not null,
  event_type text not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed', 'skipped')),
  attempts int not null default 0,
  last_status int,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  delivered_at timestamptz,
  unique (event_id, endpoint_id)
);
create index if not exists notification_deliveries_org_idx on notification_deliveries (organization_id, created_at desc);
create table if not exists notification_endpoints (
  organization_id text not null,
  endpoint_id text not null,
  consecutive_failures int not null default 0,
  disabled_at timestamptz,
  disabled_reason text,
  updated_at timestamptz not null default now(),
  primary key (organization_id, endpoint_id)
);
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop trigger if exists user_history_invitation_update on invitations;
drop trigger if exists user_history_update on users;
drop trigger if exists user_history_insert on users;
drop function if exists user_history_invitations();
drop function if exists user_history_changed();
drop function if exists user_history_created();
drop table if exists user_events;
drop function if exists user_events_refuse_update();
drop function if exists hrsync_actor_type();
drop function if exists hrsync_actor_id();
drop table if exists notification_deliveries;
drop table if exists notification_endpoints;
`);
  }
}
