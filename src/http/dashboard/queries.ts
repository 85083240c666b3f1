/**
 * The dashboard's reads. Every one is scoped by organization in SQL; callers pass the
 * organization the request may act on, never one taken from the data.
 */
export * from './queries/run-queries.js';
export * from './queries/user-queries.js';
export * from './queries/rollout-queries.js';
