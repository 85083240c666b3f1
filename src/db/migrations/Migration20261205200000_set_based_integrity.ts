import { Migration } from '@mikro-orm/migrations';

/**
 * Issue 13 (a faster first sync): the references of users and group memberships are checked
 * once per statement instead of once per row.
 *
 * A foreign key checks every inserted row on its own: one look-up and one row lock of the parent
 * per row and reference. An initial sync of 100,000 employees made 500,000 of them (users →
 * organization, connector, location, manager; memberships → user, group) for a few dozen distinct
 * parents: 37 % of the insert. The same guarantees now come from statement-level triggers with
 * transition tables, which look at each distinct parent once:
 *
 * - child side (insert, and update where a reference changed): every distinct parent the statement
 *   refers to is locked `for key share` — the lock a foreign key's check takes, so a concurrent
 *   delete of that parent waits for this transaction — and a missing one fails the statement with
 *   SQLSTATE 23503 and the former constraint's name (error handling sees what it saw before);
 * - parent side: deleting an organization, connector or location still referenced by a user fails
 *   (NO ACTION); deleting users deletes their memberships (CASCADE) and empties their reports'
 *   manager link (SET NULL); deleting groups deletes their memberships (CASCADE); TRUNCATE of users
 *   or groups empties group_memberships; a parent's id never changes (refused);
 * - the checks run at statement end in the statement's own transaction: a child inserted and a parent
 *   deleted at the same time end with one of them refused, as with a foreign key (the locks order
 *   them; each check reads the latest committed state, the READ COMMITTED level every hrsync
 *   transaction uses).
 *
 * The other tables' foreign keys (invitations, runs, tokens, …) are written row by row far less
 * often and stay ordinary foreign keys.
 */
export class Migration20261205200000_set_based_integrity extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
-- Locks every key of keys (distinct, not null) in parent "for key share"; a key missing from parent
-- fails with the foreign key's SQLSTATE and name.
create or replace function hrsync_require_keys(parent regclass, keys anyarray, fk text, child text) returns void
language plpgsql as $$
declare
  wanted int := coalesce(cardinality(keys), 0);
  present int;
begin
  if wanted = 0 then return; end if;
  execute format('select count(*) from (select 1 from %s p where p.id = any($1) for key share of p) x', parent) into present using keys;
  if present < wanted then
    raise foreign_key_violation using
      message = format('insert or update on table "%s" violates foreign key constraint "%s"', child, fk),
      detail = format('%s of the %s keys referred to are not present in table "%s".', wanted - present, wanted, parent),
      table = child, constraint = fk;
  end if;
end $$;

create or replace function hrsync_users_refs_inserted() returns trigger language plpgsql as $$
begin
  perform hrsync_require_keys('organizations', array(select distinct organization_id from new_users), 'users_organization_id_fkey', 'users');
  perform hrsync_require_keys('connectors', array(select distinct connector_id from new_users where connector_id is not null), 'users_connector_id_fkey', 'users');
  perform hrsync_require_keys('locations', array(select distinct location_id from new_users where location_id is not null), 'users_location_id_fkey', 'users');
  perform hrsync_require_keys('users', array(select distinct manager_id from new_users where manager_id is not null), 'users_manager_id_fkey', 'users');
  return null;
end $$;

-- Only references that changed are checked (a foreign key does the same): a page of unchanged
-- managers, or a deactivation of thousands, locks nothing.
create or replace function hrsync_users_refs_updated() returns trigger language plpgsql as $$
declare
  orgs text[];
  conns text[];
  locs uuid[];
  mgrs uuid[];
begin
  select array_agg(distinct n.organization_id) filter (where n.organization_id is distinct from o.organization_id),
         array_agg(distinct n.connector_id) filter (where n.connector_id is not null and n.connector_id is distinct from o.connector_id),
         array_agg(distinct n.location_id) filter (where n.location_id is not null and n.location_id is distinct from o.location_id),
         array_agg(distinct n.manager_id) filter (where n.manager_id is not null and n.manager_id is distinct from o.manager_id)
    into orgs, conns, locs, mgrs
    from new_users n join old_users o on o.id = n.id;
  perform hrsync_require_keys('organizations', orgs, 'users_organization_id_fkey', 'users');
  perform hrsync_require_keys('connectors', conns, 'users_connector_id_fkey', 'users');
  perform hrsync_require_keys('locations', locs, 'users_location_id_fkey', 'users');
  perform hrsync_require_keys('users', mgrs, 'users_manager_id_fkey', 'users');
  return null;
end $$;

create or replace function hrsync_memberships_refs_inserted() returns trigger language plpgsql as $$
begin
  perform hrsync_require_keys('users', array(select distinct user_id from new_memberships), 'group_memberships_user_id_fkey', 'group_memberships');
  perform hrsync_require_keys('groups', array(select distinct group_id from new_memberships), 'group_memberships_group_id_fkey', 'group_memberships');
  return null;
end $$;

create or replace function hrsync_users_deleted() returns trigger language plpgsql as $$
begin
  delete from group_memberships m using old_users o where m.user_id = o.id;
  update users u set manager_id = null where u.manager_id in (select id from old_users);
  return null;
end $$;

create or replace function hrsync_groups_deleted() returns trigger language plpgsql as $$
begin
  delete from group_memberships m using old_groups o where m.group_id = o.id;
  return null;
end $$;

create or replace function hrsync_memberships_truncate() returns trigger language plpgsql as $$
begin
  truncate group_memberships;
  return null;
end $$;

-- TG_ARGV: the users column that refers to the deleted table, the foreign key's name
create or replace function hrsync_refuse_referenced_delete() returns trigger language plpgsql as $$
declare
  col text := tg_argv[0];
  fk text := tg_argv[1];
  used boolean;
begin
  execute format('select exists (select 1 from old_rows o where exists (select 1 from users u where u.%I = o.id))', col) into used;
  if used then
    raise foreign_key_violation using
      message = format('update or delete on table "%s" violates foreign key constraint "%s" on table "users"', tg_table_name, fk),
      detail = format('Keys of table "%s" are still referenced from table "users".', tg_table_name),
      table = 'users', constraint = fk;
  end if;
  return null;
end $$;

create or replace function hrsync_refuse_id_change() returns trigger language plpgsql as $$
begin
  raise exception 'the id of a row of "%" never changes', tg_table_name using errcode = 'foreign_key_violation';
end $$;

alter table users drop constraint if exists users_organization_id_fkey, drop constraint if exists users_connector_id_fkey,
  drop constraint if exists users_location_id_fkey, drop constraint if exists users_manager_id_fkey;
alter table group_memberships drop constraint if exists group_memberships_user_id_fkey, drop constraint if exists group_memberships_group_id_fkey;

create trigger users_refs_inserted after insert on users referencing new table as new_users
  for each statement execute function hrsync_users_refs_inserted();
create trigger users_refs_updated after update on users referencing old table as old_users new table as new_users
  for each statement execute function hrsync_users_refs_updated();
create trigger users_deleted after delete on users referencing old table as old_users
  for each statement execute function hrsync_users_deleted();
create trigger users_truncated after truncate on users for each statement execute function hrsync_memberships_truncate();
create trigger memberships_refs_inserted after insert on group_memberships referencing new table as new_memberships
  for each statement execute function hrsync_memberships_refs_inserted();
create trigger groups_deleted after delete on groups referencing old table as old_groups
  for each statement execute function hrsync_groups_deleted();
create trigger groups_truncated after truncate on groups for each statement execute function hrsync_memberships_truncate();
create trigger organizations_deleted after delete on organizations referencing old table as old_rows
  for each statement execute function hrsync_refuse_referenced_delete('organization_id', 'users_organization_id_fkey');
create trigger connectors_deleted after delete on connectors referencing old table as old_rows
  for each statement execute function hrsync_refuse_referenced_delete('connector_id', 'users_connector_id_fkey');
create trigger locations_deleted after delete on locations referencing old table as old_rows
  for each statement execute function hrsync_refuse_referenced_delete('location_id', 'users_location_id_fkey');

-- Ids never change (a column trigger: it fires only for an UPDATE that sets id, which nothing does).
create trigger organizations_id_fixed before update of id on organizations for each row when (old.id is distinct from new.id) execute function hrsync_refuse_id_change();
create trigger connectors_id_fixed before update of id on connectors for each row when (old.id is distinct from new.id) execute function hrsync_refuse_id_change();
create trigger locations_id_fixed before update of id on locations for each row when (old.id is distinct from new.id) execute function hrsync_refuse_id_change();
create trigger groups_id_fixed before update of id on groups for each row when (old.id is distinct from new.id) execute function hrsync_refuse_id_change();
create trigger users_id_fixed before update of id on users for each row when (old.id is distinct from new.id) execute function hrsync_refuse_id_change();
create trigger memberships_keys_fixed before update of user_id, group_id on group_memberships for each row
  when (old.user_id is distinct from new.user_id or old.group_id is distinct from new.group_id) execute function hrsync_refuse_id_change();
`);
  }
}
