import type { AppConfig } from './load.js';

/** The rollout service's settings, derived from the configuration (the same for the API and the workers). */
export function rolloutSettings(config: AppConfig) {
  return {
    batchSize: config.invitations.batchSize,
    chunkSize: config.invitations.chunkSize,
    tokenTtlMs: config.invitations.tokenTtlDays * 24 * 3_600_000,
  };
}

/** An organization's reminder default (config `organizations[].reminders`), or null for none. */
export function reminderDefaults(config: AppConfig): (organizationId: string) => { daysBeforeExpiry: number; maxTimes: number } | null {
  return (organizationId) => config.organizations.find((o) => o.id === organizationId)?.reminders ?? null;
}
