import { Migration } from '@mikro-orm/migrations';

/**
 * Dashboard sessions, kept on the server: the cookie holds a random id, the row its hash.
 * Signing out deletes the row; revoking the organization token ends its sessions (the
 * foreign key, and the lookup joins the token); an admin session names the admin token's
 * fingerprint, so a new admin token ends every admin session.
 */
export class Migration20261205150000_dashboard_sessions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table if not exists dashboard_sessions (
  id_hash text primary key,
  kind text not null check (kind in ('admin', 'organization')),
  organization_id text,
  token_id uuid references api_tokens (id) on delete cascade,
  admin_key text,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  check ((kind = 'admin' and admin_key is not null and token_id is null) or (kind = 'organization' and token_id is not null and organization_id is not null))
);`);
    this.addSql(`create index if not exists dashboard_sessions_expires_idx on dashboard_sessions (expires_at);`);
    this.addSql(`create index if not exists dashboard_sessions_token_idx on dashboard_sessions (token_id);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists dashboard_sessions;`);
  }
}
