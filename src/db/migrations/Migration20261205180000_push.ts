import { Migration } from '@mikro-orm/migrations';

/**
 * Changes pushed to hrsync (issue 18): SCIM 2.0 and vendor webhooks.
 * - sync runs may be triggered by a webhook or a SCIM request (and, later, on demand);
 * - API tokens carry scopes: `api` (the /api routes, as every token so far) and/or `scim`;
 * - group memberships written by a SCIM client are theirs (`scim`), apart from HR's (`sync`);
 * - SCIM clients find users by userName and externalId (kept in users.attributes);
 * - per-connector webhook counters: last event, accepted and rejected deliveries.
 */
export class Migration20261205180000_push extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table sync_runs drop constraint if exists sync_runs_trigger_check;
alter table sync_runs add constraint sync_runs_trigger_check
  check (trigger in ('manual', 'schedule', 'api', 'webhook', 'scim', 'on_demand'));

alter table api_tokens add column if not exists scopes text[] not null default '{api}';

alter table group_memberships drop constraint if exists group_memberships_source_check;
alter table group_memberships add constraint group_memberships_source_check check (source in ('sync', 'manual', 'scim'));

-- a SCIM userName is unique among the connector's SCIM users (a DELETEd one gives it up)
create unique index if not exists users_scim_user_name_uq on users (connector_id, lower(attributes->>'scimUserName'))
  where attributes->>'scimUserName' is not null and attributes->>'scimDeleted' is null;
-- SCIM listings page through the connector's SCIM users in seq order (startIndex/count)
create index if not exists users_scim_seq_idx on users (connector_id, seq)
  where attributes->>'scimUserName' is not null and attributes->>'scimDeleted' is null;
-- same predicate as the SCIM users' scope, so that the planner prefers it for externalId eq
create index if not exists users_scim_external_id_idx on users (connector_id, (attributes->>'scimExternalId'))
  where attributes->>'scimUserName' is not null and attributes->>'scimDeleted' is null;

-- pushed runs look up the connector's held run on every change (a connector has thousands of small runs)
create index if not exists sync_runs_held_idx on sync_runs (connector_id) where status = 'needs_approval' and not dry_run;

create table if not exists webhook_stats (
  connector_id text primary key references connectors(id) on delete cascade,
  last_event_at timestamptz,
  accepted bigint not null default 0,
  rejected bigint not null default 0,
  last_rejected_at timestamptz
);
`);
  }

  override async down(): Promise<void> {
    this.addSql(`
drop table if exists webhook_stats;
drop index if exists users_scim_user_name_uq;
drop index if exists sync_runs_held_idx;
drop index if exists users_scim_seq_idx;
drop index if exists users_scim_external_id_idx;
alter table api_tokens drop column if exists scopes;
`);
  }
}
