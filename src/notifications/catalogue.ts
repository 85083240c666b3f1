import type { NotificationEvent, NotificationEventType } from './events.js';

const ORG = 'acme';
const AT = '2026-12-05T20:00:00.000Z';

/** One example of every event, as sent (docs/notifications.md and the OpenAPI `webhooks` show these). */
export const EVENT_EXAMPLES: { [T in NotificationEventType]: NotificationEvent<T> & { description: string; email: boolean } } = {
  'sync.run.held': {
    description: 'A sync run would deactivate more people than the connector\'s threshold allows: the deactivations wait for an administrator (approve or reject the run).',
    email: true,
    id: '6f1c2a50-8a51-5b0e-9f3e-2d6f9c1a7b01', type: 'sync.run.held', organizationId: ORG, occurredAt: AT,
    data: { runId: '0b9c8e43-2f4e-4b8c-a1d2-5e6f7a8b9c0d', connectorId: 'acme-bamboohr', trigger: 'schedule', heldDeactivations: 42, reason: '42 of 380 users (11.1%) > 10%' },
  },
  'sync.run.failed': {
    description: 'A sync run failed (nobody was deactivated by it). `errorCode` is the stable code of the failure.',
    email: true,
    id: '1d2e3f40-5a6b-5c7d-8e9f-0a1b2c3d4e5f', type: 'sync.run.failed', organizationId: ORG, occurredAt: AT,
    data: { runId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', connectorId: 'acme-bamboohr', trigger: 'schedule', errorCode: 'connector_unavailable' },
  },
  'connector.credentials_failed': {
    description: 'The HR system refused the connector\'s credentials (HTTP 401/403): renew them; syncs fail until then.',
    email: true,
    id: '2e3f4a50-6b7c-5d8e-9f0a-1b2c3d4e5f60', type: 'connector.credentials_failed', organizationId: ORG, occurredAt: AT,
    data: { runId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6e', connectorId: 'acme-bamboohr' },
  },
  'rollout.paused': {
    description: 'A rollout paused by itself: the mail server refused the sender or the credentials. Nobody was failed; resume it once mail works.',
    email: true,
    id: '3f4a5b60-7c8d-5e9f-8a1b-2c3d4e5f6071', type: 'rollout.paused', organizationId: ORG, occurredAt: AT,
    data: { rolloutId: '4c5d6e7f-8091-4a2b-9c3d-4e5f60718293', reason: 'sender_refused', counts: { targeted: 250, sent: 100, pending: 150 } },
  },
  'rollout.failed': {
    description: 'A rollout failed (a batch used up its retries).',
    email: true,
    id: '4a5b6c70-8d9e-5f0a-9b2c-3d4e5f607182', type: 'rollout.failed', organizationId: ORG, occurredAt: AT,
    data: { rolloutId: '4c5d6e7f-8091-4a2b-9c3d-4e5f60718294', reason: 'retries_exhausted', counts: { targeted: 250, sent: 200, failed: 50 } },
  },
  'rollout.completed': {
    description: 'Every invitation of a rollout was sent (or skipped or failed, as counted).',
    email: true,
    id: '5b6c7d80-9e0f-5a1b-8c3d-4e5f60718293', type: 'rollout.completed', organizationId: ORG, occurredAt: AT,
    data: { rolloutId: '4c5d6e7f-8091-4a2b-9c3d-4e5f60718295', counts: { targeted: 250, sent: 248, failed: 2 } },
  },
  'invitation.accepted': {
    description: 'Someone accepted their invitation (webhook only, never e-mailed). Fetch the user with GET /api/users/{userId}.',
    email: false,
    id: '6c7d8e90-0f1a-5b2c-9d4e-5f6071829304', type: 'invitation.accepted', organizationId: ORG, occurredAt: AT,
    data: { invitationId: '7d8e9fa0-1b2c-4d3e-8f5a-60718293a4b5', rolloutId: '4c5d6e7f-8091-4a2b-9c3d-4e5f60718295', userId: '8e9fa0b1-2c3d-4e4f-9a6b-718293a4b5c6' },
  },
  'rules.deactivations_over_threshold': {
    description: "A lifecycle rule plans more deactivations than its threshold allows; they wait for an administrator. The leavers' end dates are the rule `leavers`; `runId` is the held run to approve or reject.",
    email: true,
    id: '7d8e9fa0-1a2b-5c3d-8e5f-60718293a4b5', type: 'rules.deactivations_over_threshold', organizationId: ORG, occurredAt: AT,
    data: { ruleId: 'leavers', connectorId: 'acme-bamboohr', runId: '9fa0b1c2-3d4e-4f5a-8b6c-8293a4b5c6d7', planned: 30, threshold: 10 },
  },
};

/** The OpenAPI 3.1 `webhooks` object: one POST per event type, its example as the body. */
export function openApiWebhooks(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [type, ex] of Object.entries(EVENT_EXAMPLES)) {
    const { description, email: _e, ...example } = ex;
    out[type] = {
      post: {
        summary: type,
        description: `${description} Signed: header \`hrsync-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">\` with the endpoint's secret.`,
        requestBody: { content: { 'application/json': { schema: { type: 'object', required: ['id', 'type', 'organizationId', 'occurredAt', 'data'] }, example } } },
        responses: { '2XX': { description: 'received (anything else is retried with backoff)' } },
      },
    };
  }
  return out;
}
