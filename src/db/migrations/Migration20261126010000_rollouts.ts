import { Migration } from '@mikro-orm/migrations';

/** Rollouts (deliberate invitation runs) and their invitations: PostgreSQL is the source of truth. */
export class Migration20261126010000_rollouts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table rollouts (
  id uuid primary key default gen_random_uuid(),
  organization_id text not null references organizations(id),
  status text not null check (status in ('scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed')),
  login_method text not null check (login_method in ('password', 'sso', 'magic_link')),
  message text,
  send_at timestamptz not null,
  resend boolean not null default false,
  selection jsonb not null,
  batch_size int not null,
  targeted int not null default 0,
  skipped_by_reason jsonb not null default '{}',
  error text,
  created_by text,
  paused_from text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz
);
create index rollouts_org_idx on rollouts (organization_id, created_at desc);
create index rollouts_status_idx on rollouts (status, send_at) where status in ('scheduled', 'running', 'paused');

create table invitations (
  id uuid primary key default gen_random_uuid(),
  rollout_id uuid not null references rollouts(id) on delete cascade,
  organization_id text not null references organizations(id),
  user_id uuid not null references users(id) on delete cascade,
  batch int not null,
  status text not null default 'pending'
    check (status in ('pending', 'sending', 'sent', 'failed', 'cancelled', 'accepted', 'expired', 'revoked')),
  login_method text not null,
  token_hash text,
  expires_at timestamptz,
  attempts int not null default 0,
  last_error text,
  sent_at timestamptz,
  accepted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (rollout_id, user_id)
);
create index invitations_rollout_batch_idx on invitations (rollout_id, batch, status);
create index invitations_rollout_status_idx on invitations (rollout_id, status);
create index invitations_user_idx on invitations (user_id, status);
create unique index invitations_token_uq on invitations (token_hash) where token_hash is not null;
`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists invitations, rollouts cascade;`);
  }
}
