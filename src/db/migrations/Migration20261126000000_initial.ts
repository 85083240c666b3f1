import { Migration } from '@mikro-orm/migrations';

/** The multi-tenant user store and the sync engine's records. */
export class Migration20261126000000_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table organizations (
  id text primary key,
  name text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table connectors (
  id text primary key,
  organization_id text not null references organizations(id),
  type text not null,
  last_run_id uuid,
  last_sync_at timestamptz,
  last_full_sync_at timestamptz,
  checkpoint text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index connectors_organization_idx on connectors (organization_id);

create table locations (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references organizations(id),
  name text not null,
  created_at timestamptz not null default now()
);
create unique index locations_org_name_uq on locations (organization_id, lower(name));

create table groups (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references organizations(id),
  name text not null,
  created_at timestamptz not null default now()
);
create unique index groups_org_name_uq on groups (organization_id, lower(name));

create table users (
  id uuid primary key default gen_random_uuid(),
  seq bigint generated always as identity,
  organization_id text not null references organizations(id),
  email text,
  external_id text,
  connector_id text references connectors(id),
  source text not null default 'manual' check (source in ('sync', 'manual')),
  first_name text,
  last_name text,
  job_title text,
  location_id uuid references locations(id),
  manager_id uuid references users(id) on delete set null,
  manager_external_id text,
  roles jsonb not null default '[]',
  attributes jsonb not null default '{}',
  status text not null default 'active' check (status in ('active', 'deactivated')),
  deactivated_by text check (deactivated_by in ('sync', 'admin')),
  deactivated_at timestamptz,
  access text not null default 'none' check (access in ('none', 'invited', 'active')),
  start_date date,
  end_date date,
  content_hash text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((connector_id is null) = (external_id is null))
);
create unique index users_seq_uq on users (seq);
create unique index users_org_email_uq on users (organization_id, lower(email)) where email is not null;
create unique index users_connector_external_uq on users (connector_id, external_id) where connector_id is not null;
create index users_org_status_idx on users (organization_id, status, access);
create index users_connector_seq_idx on users (connector_id, seq) where status = 'active';
create index users_manager_idx on users (manager_id);
create index users_location_idx on users (location_id);

create table group_memberships (
  user_id uuid not null references users(id) on delete cascade,
  group_id uuid not null references groups(id) on delete cascade,
  source text not null default 'manual' check (source in ('sync', 'manual')),
  created_at timestamptz not null default now(),
  primary key (user_id, group_id)
);
create index group_memberships_group_idx on group_memberships (group_id);

create table sync_runs (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references organizations(id),
  connector_id text not null references connectors(id),
  trigger text not null check (trigger in ('manual', 'schedule', 'api')),
  dry_run boolean not null default false,
  mode text not null default 'full' check (mode in ('full', 'incremental')),
  status text not null check (status in ('running', 'succeeded', 'failed', 'needs_approval', 'approved', 'rejected')),
  counts jsonb not null default '{}',
  examples jsonb,
  error text,
  held_reason text,
  started_at timestamptz not null default now(),
  finished_at timestamptz,
  approved_at timestamptz,
  approved_by text
);
create unique index sync_runs_one_running_uq on sync_runs (connector_id) where status = 'running' and not dry_run;
create index sync_runs_connector_idx on sync_runs (connector_id, started_at desc);
create index sync_runs_org_idx on sync_runs (organization_id, started_at desc);

create table sync_run_rejections (
  id bigserial primary key,
  run_id uuid not null references sync_runs(id) on delete cascade,
  external_id text,
  reason text not null,
  detail text
);
create index sync_run_rejections_run_idx on sync_run_rejections (run_id, id);

create table sync_run_deactivations (
  run_id uuid not null references sync_runs(id) on delete cascade,
  user_id uuid not null references users(id) on delete cascade,
  reason text not null check (reason in ('terminated', 'missing_from_listing')),
  applied_at timestamptz,
  primary key (run_id, user_id)
);
`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists sync_run_deactivations, sync_run_rejections, sync_runs, group_memberships, users, groups, locations, connectors, organizations cascade;`);
  }
}
