import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../src/config/load.js';
import type { Orm } from '../src/db/orm.js';
import type { Logger } from '../src/lib/logger.js';
import type { SyncEngine } from '../src/sync/sync-engine.js';
import type { SyncRunRecord } from '../src/sync/run-record.js';
import type { Queues } from './queues.js';
import type { Notifier } from '../src/notifications/notifier.js';

/**
 * What the workers are built from (src/app/context.ts's AppContext provides it). In its own
 * file so that every worker module can take it without importing the module that starts them all.
 */
export interface WorkerContext {
  config: AppConfig;
  log: Logger;
  orm: Orm;
  sync: SyncEngine;
  em(): EntityManager;
  queues(): Queues;
  /** Outbound notifications (src/notifications; absent: none are sent). */
  notifier?: Notifier;
  /** A run's end, told to the notifications (pushed runs too). */
  onFinished?: (run: SyncRunRecord, info: { errorCode: string | null }) => void;
}
