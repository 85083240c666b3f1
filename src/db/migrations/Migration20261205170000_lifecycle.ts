import { Migration } from '@mikro-orm/migrations';

/**
 * HR dates drive the lifecycle (issue 17).
 *
 * - `time_zone` on organizations (from config `timezone`) and on locations (config or API):
 *   a person's local time is their location's zone, else their organization's, else UTC.
 * - `invitation_rules`: standing administrator decisions ("invite Berlin 3 days before the
 *   start date at 09:00 local"), with `invitation_rule_audit` recording who created, changed,
 *   enabled or disabled them.
 * - `planned_invitations`: one row per rule and user, the moment it will invite them; fired
 *   rows keep the rollout they went into.
 * - rollouts gain `rule_id` (the rule whose moment made them) and a reminder policy; invitations
 *   count the reminders sent; `rollouts.reminded` counts them per rollout.
 * - `planned_deactivations`: a leaver's deactivation at the end of their last day, per user.
 */
export class Migration20261205170000_lifecycle extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table organizations add column time_zone text;
alter table locations add column time_zone text;

create table invitation_rules (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references organizations(id),
  name text not null,
  enabled boolean not null default false,
  filter jsonb not null default '{}',
  days_before int not null check (days_before between 0 and 365),
  local_time text not null check (local_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  login_method text not null check (login_method in ('password', 'sso', 'magic_link')),
  message text,
  rehires boolean not null default false,
  remind_days_before int check (remind_days_before between 1 and 90),
  remind_max int check (remind_max between 0 and 10),
  created_by text,
  updated_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index invitation_rules_org_name_uq on invitation_rules (organization_id, lower(name));

create table invitation_rule_audit (
  id bigserial primary key,
  rule_id uuid not null references invitation_rules(id) on delete cascade,
  organization_id text not null,
  action text not null check (action in ('created', 'updated', 'enabled', 'disabled')),
  actor text,
  changes jsonb not null default '{}',
  at timestamptz not null default now()
);
create index invitation_rule_audit_rule_idx on invitation_rule_audit (rule_id, id);

create table planned_invitations (
  rule_id uuid not null references invitation_rules(id) on delete cascade,
  user_id uuid not null references users(id) on delete cascade,
  organization_id text not null,
  start_date date not null,
  due_at timestamptz not null,
  status text not null default 'planned' check (status in ('planned', 'fired')),
  rollout_id uuid references rollouts(id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (rule_id, user_id)
);
create index planned_invitations_due_idx on planned_invitations (due_at) where status = 'planned';

alter table rollouts add column rule_id uuid references invitation_rules(id) on delete set null;
alter table rollouts add column remind_days_before int;
alter table rollouts add column remind_max int not null default 0;
alter table rollouts add column reminded int not null default 0;
alter table invitations add column reminders_sent int not null default 0;
alter table invitations add column reminded_at timestamptz;
create index invitations_remind_idx on invitations (expires_at) where status = 'sent' and token is not null;

create table planned_deactivations (
  user_id uuid primary key references users(id) on delete cascade,
  organization_id text not null,
  connector_id text not null references connectors(id),
  end_date date not null,
  due_at timestamptz not null,
  status text not null default 'planned' check (status in ('planned', 'applied', 'held')),
  run_id uuid references sync_runs(id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index planned_deactivations_due_idx on planned_deactivations (due_at) where status = 'planned';
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop table if exists planned_deactivations, planned_invitations, invitation_rule_audit cascade;
drop index if exists invitations_remind_idx;
alter table invitations drop column if exists reminded_at, drop column if exists reminders_sent;
alter table rollouts drop column if exists reminded, drop column if exists remind_max, drop column if exists remind_days_before, drop column if exists rule_id;
drop table if exists invitation_rules cascade;
alter table locations drop column if exists time_zone;
alter table organizations drop column if exists time_zone;
`);
  }
}
