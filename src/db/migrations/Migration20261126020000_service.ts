import { Migration } from '@mikro-orm/migrations';

/** The service: API tokens per organization (stored hashed), queued and skipped sync runs. */
export class Migration20261126020000_service extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table api_tokens (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references organizations(id),
  name text,
  token_hash text not null unique,
  hint text not null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);
create index api_tokens_org_idx on api_tokens (organization_id);

alter table sync_runs drop constraint sync_runs_status_check;
alter table sync_runs add constraint sync_runs_status_check
  check (status in ('queued', 'running', 'succeeded', 'failed', 'needs_approval', 'approved', 'rejected', 'skipped'));
`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists api_tokens;`);
  }
}
