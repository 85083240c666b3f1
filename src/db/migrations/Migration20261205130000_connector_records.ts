import { Migration } from '@mikro-orm/migrations';

/**
 * What a connector remembers of the HR system between runs, by key (`ConnectorContext.state`):
 * Personio v2 keeps each person's employment as last read (with the person's `updated_at`), so
 * that a re-sync asks for employments only of people new or changed since. Observations of the
 * HR system, not decisions: kept whatever a run's outcome, dropped with the connector.
 */
export class Migration20261205130000_connector_records extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table if not exists connector_records (
  connector_id text not null references connectors(id) on delete cascade,
  key text not null,
  value jsonb not null,
  updated_at timestamptz not null default now(),
  primary key (connector_id, key)
);`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists connector_records;`);
  }
}
