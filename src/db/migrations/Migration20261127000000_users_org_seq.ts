import { Migration } from '@mikro-orm/migrations';

/**
 * Users of one organization in seq order: the keyset pages of `GET /api/users` and the
 * dashboard (`organization_id = ? and seq > ? order by seq limit n`) read one index range,
 * whatever the organization's size or how its users interleave with other organizations'.
 * Without it a page of a small organization in a large store sorted all its users, or walked
 * the seq index past everyone else's.
 */
export class Migration20261127000000_users_org_seq extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index if not exists users_org_seq_idx on users (organization_id, seq);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index if exists users_org_seq_idx;`);
  }
}
