import type { ConnectorContext, HrConnector, HrEmployee, HrRejectedRecord } from '../../connectors/types.js';
import { getConnector } from '../../connectors/registry.js';
import { AppError } from '../lib/errors.js';
import { tryLockConnector } from './connector-lock.js';
import { runTargeted, targetConnector, type TargetedRunDeps, type TargetedRunResult, type TargetedTrigger } from './targeted-run.js';

export interface LookupRunDeps extends TargetedRunDeps {
  /** Which connector implements a config `type`; tests may swap one in. */
  resolveConnector?: (type: string) => HrConnector<any>;
}

/**
 * A run for people named by id (a webhook's event): the connector looks them up at the HR
 * system, and what it reports now is applied as a targeted run. Someone the vendor says does
 * not exist is deactivated; someone it still lists as active is not, whatever the event said.
 * Holds the connector's lock, so it never overlaps a full run (a busy connector: try later).
 */
export async function runForIds(deps: LookupRunDeps, opts: { connectorId: string; externalIds: string[]; trigger: TargetedTrigger; windowMinutes?: number }): Promise<TargetedRunResult> {
  const { cc } = await targetConnector(deps, opts.connectorId);
  const connector = (deps.resolveConnector ?? getConnector)(cc.type);
  if (!connector.lookupEmployees) throw new AppError('validation_failed', `connector type ${cc.type} cannot look employees up by id`);
  const lock = await tryLockConnector(deps.config.databaseUrl, cc.id);
  if (!lock) throw new AppError('connector_busy', `a sync of ${cc.id} is running; the pushed change waits for it`, { retryable: true });
  try {
    const rejected: HrRejectedRecord[] = [];
    const ctx: ConnectorContext = { log: deps.log.child({ connectorId: cc.id }), since: null, includeInactive: cc.scope.includeInactive, reject: (r) => rejected.push(r) };
    const options = connector.configSchema.parse(cc.options);
    const found = await connector.lookupEmployees(options, opts.externalIds, ctx);
    const employees: HrEmployee[] = [];
    const gone: string[] = [];
    for (const id of opts.externalIds) {
      const e = found.get(id);
      if (e) employees.push(e);
      else if (e === null && !rejected.some((r) => r.externalId === id)) gone.push(id);
    }
    if (!lock.held) throw new AppError('connector_lock_lost', `the lock of ${cc.id} was lost during the look-up`, { retryable: true });
    return await runTargeted(deps, { connectorId: cc.id, trigger: opts.trigger, employees, gone, windowMinutes: opts.windowMinutes ?? cc.webhook?.windowMinutes });
  } finally {
    await lock.release();
  }
}
