import { Migration } from '@mikro-orm/migrations';

/**
 * The dashboard's invite drafts, accent-insensitive search, and the users list's sort indexes.
 *
 * An invite draft is the invite form's state kept on the server: the selection (ids or a
 * filter), the options, the one-time key of the preview's confirm form and, once confirmed,
 * the rollout it created. The preview is a GET of the draft (Back and Reload never re-post),
 * and a second confirm finds the rollout already there.
 *
 * hrsync_fold(text) lower-cases and, when the unaccent extension is available, strips
 * accents: search compares folded text on both sides ("muller" finds "Müller" and back).
 */
export class Migration20261205140000_dashboard_drafts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table if not exists dashboard_invite_drafts (
  id uuid primary key,
  organization_id text not null references organizations (id) on delete cascade,
  state jsonb not null,
  confirm_key uuid,
  preview_count integer,
  rollout_id uuid references rollouts (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);`);
    this.addSql(`create index if not exists dashboard_invite_drafts_updated_idx on dashboard_invite_drafts (updated_at);`);
    this.addSql(`create index if not exists dashboard_invite_drafts_rollout_idx on dashboard_invite_drafts (rollout_id) where rollout_id is not null;`);
    // A sync run's skipped records (inactive in HR, never created): the first 100 employee ids, to show them.
    this.addSql(`alter table sync_runs add column if not exists skipped_ids jsonb;`);
    // The users list sorted by name or e-mail, keyset-paged (src/users/user-service.ts SORT_KEYS: the same expressions).
    this.addSql(`create index if not exists users_org_name_sort_idx on users (organization_id, (lower(coalesce(last_name, '') || ' ' || coalesce(first_name, ''))), seq);`);
    this.addSql(`create index if not exists users_org_email_sort_idx on users (organization_id, (lower(coalesce(email, ''))), seq);`);
    this.addSql(`do $body$ begin
  create extension if not exists unaccent;
exception when others then
  raise notice 'unaccent is not available: search folds case only';
end $body$;`);
    this.addSql(`do $body$ begin
  if exists (select 1 from pg_extension where extname = 'unaccent') then
    execute 'create or replace function hrsync_fold(t text) returns text language sql stable parallel safe as $f$ select lower(unaccent(coalesce(t, ''''))) $f$';
  else
    execute 'create or replace function hrsync_fold(t text) returns text language sql immutable parallel safe as $f$ select lower(coalesce(t, '''')) $f$';
  end if;
end $body$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists dashboard_invite_drafts;`);
    this.addSql(`drop function if exists hrsync_fold(text);`);
    this.addSql(`drop index if exists users_org_name_sort_idx;`);
    this.addSql(`alter table sync_runs drop column if exists skipped_ids;`);
    this.addSql(`drop index if exists users_org_email_sort_idx;`);
  }
}
