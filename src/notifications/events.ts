import { randomUUID } from 'node:crypto';
import type { NotificationEventType } from '../config/schema.js';

export type { NotificationEventType };

/**
 * One notification: what happened, to which organization, when — with ids and counts only,
 * never names or e-mail addresses (a receiver that needs a person fetches them with its token).
 * The catalogue with examples: docs/notifications.md.
 */
export interface NotificationEvent<T extends NotificationEventType = NotificationEventType> {
  /** Unique per event: receivers deduplicate retries on it. */
  id: string;
  type: T;
  organizationId: string;
  occurredAt: string;
  data: EventData[T];
}

export interface EventData {
  'sync.run.held': { runId: string; connectorId: string; trigger: string; heldDeactivations: number; reason: string | null };
  'sync.run.failed': { runId: string; connectorId: string; trigger: string; errorCode: string };
  'connector.credentials_failed': { runId: string | null; connectorId: string };
  'rollout.paused': { rolloutId: string; reason: string | null; counts: Record<string, number> };
  'rollout.failed': { rolloutId: string; reason: string | null; counts: Record<string, number> };
  'rollout.completed': { rolloutId: string; counts: Record<string, number> };
  'invitation.accepted': { invitationId: string; rolloutId: string; userId: string };
  /** Emitted by the rules engine (issue 17) when a rule plans more deactivations than its threshold allows. */
  'rules.deactivations_over_threshold': { ruleId: string; connectorId: string | null; runId?: string; planned: number; threshold: number };
}

export function notificationEvent<T extends NotificationEventType>(type: T, organizationId: string, data: EventData[T], opts: { id?: string; at?: Date } = {}): NotificationEvent<T> {
  return { id: opts.id ?? randomUUID(), type, organizationId, occurredAt: (opts.at ?? new Date()).toISOString(), data };
}

/** The e-mail subject and text of an event (ids and counts; the dashboard link has the rest). */
export function describeEvent(e: NotificationEvent, appUrl: string): { subject: string; text: string } {
  const d = e.data as Record<string, unknown>;
  const org = e.organizationId;
  const base = appUrl.replace(/\/+$/, '');
  switch (e.type) {
    case 'sync.run.held':
      return { subject: `hrsync: sync of ${d.connectorId} waits for your approval`, text: `A sync run of connector ${d.connectorId} holds ${d.heldDeactivations} deactivations for approval${d.reason ? ` (${d.reason})` : ''}.\n\nApprove or reject it: ${base}/dashboard/orgs/${org}/runs/${d.runId}\n` };
    case 'sync.run.failed':
      return { subject: `hrsync: sync of ${d.connectorId} failed`, text: `Sync run ${d.runId} of connector ${d.connectorId} failed (${d.errorCode}); nobody was deactivated.\n\n${base}/dashboard/orgs/${org}/runs/${d.runId}\n` };
    case 'connector.credentials_failed':
      return { subject: `hrsync: connector ${d.connectorId} is refused by the HR system`, text: `The HR system refused the credentials of connector ${d.connectorId}. Renew them in the configuration; syncs of it fail until then.\n` };
    case 'rollout.paused':
    case 'rollout.failed':
      return { subject: `hrsync: rollout ${String(d.rolloutId).slice(0, 8)} ${e.type === 'rollout.paused' ? 'paused' : 'failed'}`, text: `Rollout ${d.rolloutId} ${e.type === 'rollout.paused' ? 'paused' : 'failed'}${d.reason ? `: ${d.reason}` : ''}.\nCounts: ${JSON.stringify(d.counts)}\n\n${base}/dashboard/orgs/${org}/rollouts/${d.rolloutId}\n` };
    case 'rollout.completed':
      return { subject: `hrsync: rollout ${String(d.rolloutId).slice(0, 8)} completed`, text: `Rollout ${d.rolloutId} completed.\nCounts: ${JSON.stringify(d.counts)}\n\n${base}/dashboard/orgs/${org}/rollouts/${d.rolloutId}\n` };
    case 'rules.deactivations_over_threshold':
      return { subject: `hrsync: rule ${d.ruleId} plans more deactivations than allowed`, text: `Rule ${d.ruleId} plans ${d.planned} deactivations, over its threshold of ${d.threshold}; they wait for an administrator.\n${d.runId ? `\n${base}/dashboard/orgs/${org}/runs/${d.runId}\n` : ''}` };
    default:
      return { subject: `hrsync: ${e.type}`, text: `${e.type}\n${JSON.stringify(e.data)}\n` };
  }
}
