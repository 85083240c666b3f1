import { Writable } from 'node:stream';
import { createLogger, silentLogger } from '../../src/lib/logger.js';
import type { ConnectorContext, HrConnector, HrEmployee, HrRejectedRecord } from '../../connectors/types.js';
import type { ConnectorHttpDeps, HttpClient } from '../../connectors/http/client.js';

/** A ConnectorContext for tests: collects rejections and, optionally, every log line (debug). */
export function testContext(opts: { since?: Date | null; includeInactive?: boolean; captureLogs?: boolean; signal?: AbortSignal } = {}) {
  const rejected: HrRejectedRecord[] = [];
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const log = opts.captureLogs ? createLogger({ destination, level: 'debug', name: 'connector-test' }) : silentLogger;
  const ctx: ConnectorContext = {
    log,
    since: opts.since ?? null,
    includeInactive: opts.includeInactive ?? true,
    signal: opts.signal,
    reject: (r) => rejected.push(r),
  };
  return { ctx, rejected, lines };
}

/** Fast, deterministic HTTP deps: no real waiting, recorded delays, the created clients. */
export function fastDeps(retry: ConnectorHttpDeps['retry'] = {}) {
  const sleeps: number[] = [];
  const clients: HttpClient[] = [];
  /** Called at each would-be wait: a test changes the fake vendor "while" the client waits. */
  const hooks: { onSleep?: (ms: number) => void } = {};
  const deps: ConnectorHttpDeps = {
    retry: { maxRetries: 4, baseDelayMs: 10, maxDelayMs: 100, ...retry },
    sleep: async (ms) => {
      sleeps.push(ms);
      hooks.onSleep?.(ms);
    },
    random: () => 0.5,
    onClient: (c) => clients.push(c),
  };
  return {
    deps,
    sleeps,
    clients,
    hooks,
    /** HTTP attempts made by the last client (the connector's own counter). */
    get requests(): number {
      return clients.at(-1)?.stats.requests ?? 0;
    },
  };
}

/** Drains a listing into pages. */
export async function collect<C>(connector: HrConnector<C>, config: C, ctx: ConnectorContext): Promise<HrEmployee[][]> {
  const pages: HrEmployee[][] = [];
  for await (const page of connector.listEmployees(config, ctx)) pages.push(page);
  return pages;
}
