import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/load.js';
import { sql } from '../db/sql.js';
import type { Logger } from '../lib/logger.js';
import type { NotificationEvent } from './events.js';
import { notificationsOf } from './notifier.js';
import { SIGNATURE_HEADER, signPayload } from './signature.js';

/** A delivery that did not reach a 2xx answer: retried with backoff by the queue. */
export class DeliveryFailedError extends Error {
  override readonly name = 'DeliveryFailedError';
}

export interface DeliverDeps {
  em(): EntityManager;
  config: AppConfig;
  log: Logger;
  timeoutMs?: number;
}

/**
 * One attempt at POSTing an event to an endpoint, signed with the endpoint's secret (the secret
 * is read from the configuration here, never carried through Redis). The outcome is recorded on
 * the delivery row; the last failed attempt counts against the endpoint, which is disabled after
 * `disableAfterFailures` failed deliveries in a row (a delivered one resets the count).
 */
export async function deliverWebhook(deps: DeliverDeps, organizationId: string, endpointId: string, event: NotificationEvent, lastAttempt: boolean): Promise<'delivered' | 'skipped'> {
  const n = notificationsOf(deps.config, organizationId);
  const endpoint = n?.webhooks.find((w) => w.id === endpointId);
  const log = deps.log.child({ organizationId, endpointId, eventId: event.id, type: event.type });
  if (!n || !endpoint) {
    await sql(deps.em(), `update notification_deliveries set status = 'skipped', last_error = 'endpoint no longer configured', updated_at = now() where event_id = ?::uuid and endpoint_id = ?`, [event.id, endpointId]);
    return 'skipped';
  }
  const body = JSON.stringify(event);
  const timestamp = Math.floor(Date.now() / 1000);
  let status: number | null = null;
  let error: string | null = null;
  try {
    const res = await fetch(endpoint.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'hrsync-notifications/1', [SIGNATURE_HEADER]: signPayload(endpoint.secret, body, timestamp), 'hrsync-event': event.type, 'hrsync-event-id': event.id },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(deps.timeoutMs ?? 10_000),
    });
    status = res.status;
    await res.body?.cancel().catch(() => {});
    if (status < 200 || status > 299) error = `HTTP ${status}`;
  } catch (err) {
    error = (err as Error)?.name === 'TimeoutError' ? 'timeout' : ((err as { cause?: { code?: string } })?.cause?.code ?? 'network error');
  }
  const em = deps.em();
  if (!error) {
    await sql(em, `update notification_deliveries set status = 'delivered', attempts = attempts + 1, last_status = ?, last_error = null, delivered_at = now(), updated_at = now() where event_id = ?::uuid and endpoint_id = ?`, [status, event.id, endpointId]);
    await sql(em, `insert into notification_endpoints (organization_id, endpoint_id) values (?, ?) on conflict (organization_id, endpoint_id) do update set consecutive_failures = 0, updated_at = now()`, [organizationId, endpointId]);
    log.info({ status }, 'notification delivered');
    return 'delivered';
  }
  const failed = `update notification_deliveries set status = ?, attempts = attempts + 1, last_status = ?, last_error = ?, updated_at = now() where event_id = ?::uuid and endpoint_id = ?`;
  if (!lastAttempt) {
    await sql(em, failed, ['pending', status, error, event.id, endpointId]);
  } else {
    // The delivery's failure and its count against the endpoint (and the endpoint's disabling)
    // in one statement: whoever sees the delivery failed sees the endpoint counted, and a crash
    // leaves neither half.
    const rows = await sql<{ consecutive_failures: number; disabled_now: boolean }>(
      em,
      `with delivery as (${failed})
       insert into notification_endpoints as e (organization_id, endpoint_id, consecutive_failures, disabled_at, disabled_reason)
       values (?, ?, 1, case when 1 >= ? then now() end, case when 1 >= ? then '1 deliveries in a row failed (last: ' || ?::text || ')' end)
       on conflict (organization_id, endpoint_id) do update set
         consecutive_failures = e.consecutive_failures + 1,
         disabled_at = case when e.disabled_at is null and e.consecutive_failures + 1 >= ? then now() else e.disabled_at end,
         disabled_reason = case when e.disabled_at is null and e.consecutive_failures + 1 >= ?
           then (e.consecutive_failures + 1) || ' deliveries in a row failed (last: ' || ?::text || ')' else e.disabled_reason end,
         updated_at = now()
       returning consecutive_failures, disabled_at is not distinct from now() as disabled_now`,
      ['failed', status, error, event.id, endpointId, organizationId, endpointId,
        n.disableAfterFailures, n.disableAfterFailures, error,
        n.disableAfterFailures, n.disableAfterFailures, error],
    );
    if (rows[0]?.disabled_now) log.warn({ failures: rows[0].consecutive_failures }, 'notification endpoint disabled');
  }
  log.warn({ status, error, lastAttempt }, 'notification delivery failed');
  throw new DeliveryFailedError(`delivery to ${endpointId} failed: ${error}`);
}
