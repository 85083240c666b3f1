import type { EntityManager } from '@mikro-orm/postgresql';
import { loadConfig, type AppConfig } from '../config/load.js';
import { syncConfigToStore } from '../db/config-store.js';
import { openStore, type Orm } from '../db/orm.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { SyncEngine } from '../sync/sync-engine.js';

/** Everything a face (CLI, HTTP, worker) needs, built once per process. */
export interface AppContext {
  config: AppConfig;
  log: Logger;
  orm: Orm;
  sync: SyncEngine;
  em(): EntityManager;
  close(): Promise<void>;
}

export async function createContext(opts: { env?: Record<string, string | undefined>; log?: Logger; config?: AppConfig; cwd?: string } = {}): Promise<AppContext> {
  const config = opts.config ?? loadConfig(opts.env ?? process.env, opts.cwd);
  const log = opts.log ?? createLogger({ level: config.logLevel });
  const orm = await openStore(config.databaseUrl, log);
  const em = () => orm.em.fork() as EntityManager;
  await syncConfigToStore(em(), config);
  const sync = new SyncEngine({ orm, config, log });
  return {
    config,
    log,
    orm,
    sync,
    em,
    async close() {
      await orm.close(true);
    },
  };
}
