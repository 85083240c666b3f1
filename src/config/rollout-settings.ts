import type { AppConfig } from './load.js';

/** The rollout service's settings, derived from the configuration (the same for the API and the workers). */
export function rolloutSettings(config: AppConfig) {
  return {
    batchSize: config.invitations.batchSize,
    chunkSize: config.invitations.chunkSize,
    tokenTtlMs: config.invitations.tokenTtlDays * 24 * 3_600_000,
  };
}
