import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config/load.js';
import type { NotificationsConfig } from '../config/schema.js';
import { bound } from '../db/sql.js';
import { errorMessage } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { NotificationEvent } from './events.js';

/** One delivery to do: a webhook endpoint's POST, or the administrators' e-mail. */
export interface NotificationJob {
  kind: 'webhook' | 'email';
  organizationId: string;
  /** webhook: the endpoint's id in the organization's configuration */
  endpointId?: string;
  event: NotificationEvent;
}

/** Where deliveries are queued (jobs/notifications, wired in by the composition root). */
export interface NotificationQueuePort {
  add(jobs: Array<{ jobId: string; data: NotificationJob; attempts: number; backoffMs: number }>): Promise<void>;
}

export function notificationsOf(config: AppConfig, organizationId: string): NotificationsConfig | null {
  return config.organizations.find((o) => o.id === organizationId)?.notifications ?? null;
}

/**
 * Fans an event out to the organization's subscribed webhook endpoints (one delivery row and one
 * queued job each; an endpoint disabled after repeated failures gets a `skipped` row instead) and
 * to its administrators' e-mail. Deterministic job ids: the same event emitted twice is sent once.
 */
export class Notifier {
  constructor(private readonly deps: { em(): EntityManager; config: AppConfig; log: Logger; queue: NotificationQueuePort }) {}

  async emit(event: NotificationEvent): Promise<void> {
    const n = notificationsOf(this.deps.config, event.organizationId);
    if (!n) return;
    const endpoints = n.webhooks.filter((w) => !w.events || w.events.includes(event.type));
    const jobs: Parameters<NotificationQueuePort['add']>[0] = [];
    if (endpoints.length > 0) {
      const rows = await bound<{ endpoint_id: string; status: string }>(
        this.deps.em(),
        `insert into notification_deliveries (organization_id, endpoint_id, event_id, event_type, status)
         select ?, e, ?::uuid, ?, case when exists (select 1 from notification_endpoints ne where ne.organization_id = ? and ne.endpoint_id = e and ne.disabled_at is not null) then 'skipped' else 'pending' end
           from unnest(?::text[]) as e
         on conflict (event_id, endpoint_id) do nothing
         returning endpoint_id, status`,
        [event.organizationId, event.id, event.type, event.organizationId, endpoints.map((e) => e.id)],
      );
      for (const r of rows) {
        if (r.status === 'skipped') {
          this.deps.log.warn({ organizationId: event.organizationId, endpointId: r.endpoint_id, eventId: event.id }, 'notification endpoint disabled; delivery skipped');
          continue;
        }
        jobs.push({ jobId: `wh.${event.id}.${r.endpoint_id}`, data: { kind: 'webhook', organizationId: event.organizationId, endpointId: r.endpoint_id, event }, attempts: n.attempts, backoffMs: n.retryDelayMs });
      }
    }
    const mailEvents = n.emails?.events;
    if (n.emails && event.type !== 'invitation.accepted' && (!mailEvents || (mailEvents as string[]).includes(event.type))) {
      jobs.push({ jobId: `mail.${event.id}`, data: { kind: 'email', organizationId: event.organizationId, event }, attempts: n.attempts, backoffMs: n.retryDelayMs });
    }
    if (jobs.length > 0) await this.deps.queue.add(jobs);
    this.deps.log.info({ organizationId: event.organizationId, eventId: event.id, type: event.type, deliveries: jobs.length }, 'notification queued');
  }

  private readonly inFlight = new Set<Promise<void>>();

  /** For listeners that must never fail their caller (a sync run's end, an acceptance). */
  emitSafely(event: NotificationEvent): void {
    const p = this.emit(event)
      .catch((err: unknown) => this.deps.log.warn({ eventId: event.id, type: event.type, err: errorMessage(err) }, 'notification not queued'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Waits for the events being queued (before the queue closes: a CLI run's held notice must not be lost). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }
}
