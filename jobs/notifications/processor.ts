import { UnrecoverableError, type Job } from 'bullmq';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../../src/config/load.js';
import type { Logger } from '../../src/lib/logger.js';
import type { MailTransport } from '../../src/mail/types.js';
import { deliverWebhook } from '../../src/notifications/deliver-webhook.js';
import type { NotificationEvent } from '../../src/notifications/events.js';
import { sendNotificationMail } from '../../src/notifications/notification-mail.js';
import { notificationsOf } from '../../src/notifications/notifier.js';
import { notificationJobSchema } from './queue.js';

/** Delivers one notification: a signed webhook POST, or the administrators' e-mail. Failures retry with backoff. */
export function notificationProcessor(deps: { em(): EntityManager; config: AppConfig; log: Logger; transport: () => MailTransport }) {
  return async (job: Job): Promise<string> => {
    const parsed = notificationJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`invalid notification job: ${parsed.error.issues[0]?.message}`);
    const { kind, organizationId, endpointId } = parsed.data;
    const event = parsed.data.event as NotificationEvent;
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (kind === 'webhook') return deliverWebhook(deps, organizationId, endpointId!, event, lastAttempt);
    const n = notificationsOf(deps.config, organizationId);
    if (!n?.emails) return 'skipped';
    await sendNotificationMail(deps.transport(), event, n.emails.to, { from: deps.config.mailFrom, appUrl: deps.config.appUrl });
    deps.log.info({ organizationId, eventId: event.id, type: event.type, recipients: n.emails.to.length }, 'notification e-mailed');
    return 'sent';
  };
}
