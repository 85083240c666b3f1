import type { WorkerContext } from './worker-context.js';
import { pruneHistory } from '../src/history/prune-history.js';
import { errorMessage } from '../src/lib/errors.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The daily retention job of the per-person history: once a minute after a worker starts, then
 * every 24 hours (replicas racing for it: one prunes, the others skip).
 */
export function startHistoryPruner(ctx: WorkerContext, everyMs = DAY_MS): { stop(): void } {
  const run = () =>
    void pruneHistory(ctx.em(), ctx.config.history.retentionDays)
      .then((deleted) => deleted > 0 && ctx.log.info({ deleted, retentionDays: ctx.config.history.retentionDays }, 'history pruned'))
      .catch((err: unknown) => ctx.log.warn({ err: errorMessage(err) }, 'history pruning failed; will try again'));
  const first = setTimeout(run, Math.min(60_000, everyMs));
  const timer = setInterval(run, everyMs);
  first.unref();
  timer.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
