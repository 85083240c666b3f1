import type { EntityManager } from '@mikro-orm/postgresql';
import type { Queue } from 'bullmq';
import type { WebhookEvent } from '../../connectors/webhook.js';
import type { TokenVerifier } from '../auth/tokens.js';
import type { AppConfig } from '../config/load.js';
import type { RolloutService } from '../invitations/rollout-service.js';
import type { RuleService } from '../rules/rule-service.js';
import type { Logger } from '../lib/logger.js';
import type { ScopeRule } from '../domain/scope.js';
import type { SyncEngine } from '../sync/sync-engine.js';
import type { SyncRunRecord } from '../sync/run-record.js';
import type { Metrics } from './metrics.js';
import type { Notifier } from '../notifications/notifier.js';

/** The BullMQ queues, for Bull Board and the queue-depth metrics (opened by the composition root). */
export interface QueueHandles {
  sync: Queue;
  rollouts: Queue;
  invitations: Queue;
  prefix: string;
}

/** Records a queued sync run and puts its job on the queue (jobs/sync/enqueue.ts, wired in by the caller). */
export type EnqueueSync = (opts: { connectorId: string; trigger: 'api'; dryRun?: boolean; scope?: { include: ScopeRule[]; exclude: ScopeRule[] } }) => Promise<{ runId: string }>;

/** Queues the people a webhook delivery names for a look-up by id (jobs/webhooks, wired in by the caller). */
export type EnqueueWebhookEvents = (connectorId: string, events: WebhookEvent[], debounceMs: number) => Promise<number>;

/** What the HTTP app is built from: everything with I/O comes in here, so the app never imports jobs/. */
export interface HttpDeps {
  config: AppConfig;
  log: Logger;
  em(): EntityManager;
  sync: SyncEngine;
  rollouts: RolloutService;
  /** Invitation rules (optional: without it, no /api/rules routes and no dashboard page). */
  rules?: RuleService;
  queues: QueueHandles;
  enqueueSync: EnqueueSync;
  /** Absent: POST /hooks answers 503 (a process that serves the API without the webhook queue). */
  enqueueWebhookEvents?: EnqueueWebhookEvents;
  tokens: TokenVerifier;
  /** PostgreSQL and Redis reachable? */
  readiness(): Promise<Record<string, string>>;
  metrics?: Metrics;
  /** A pushed run (SCIM) held for approval: told to the notifications (absent: nobody). */
  onFinished?: (run: SyncRunRecord, info: { errorCode: string | null }) => void;
  /** Outbound notifications (absent: none, e.g. a test app). */
  notifier?: Notifier;
}

export const DEFAULT_BODY_LIMIT = 256 * 1024;
/** For the routes that take a list of people (a rollout's selection). */
export const BULK_BODY_LIMIT = 16 * 1024 * 1024;
