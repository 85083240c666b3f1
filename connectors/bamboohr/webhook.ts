import { fresh, hmac, header, idOf, parseTimestamp, sameSignature, type VendorWebhook, type WebhookEvent } from '../webhook.js';

/**
 * BambooHR webhooks (documentation.bamboohr.com/docs/webhooks): each webhook has a private key;
 * a delivery carries `X-BambooHR-Timestamp` and `X-BambooHR-Signature`, the hex HMAC-SHA256 of
 * the raw body followed by the timestamp. Payloads: `{ employees: [{ id, action: Created |
 * Updated | Deleted, changedFields, fields }] }`, or an event `{ type: "employee.…", data: { employeeId } }`.
 */
export const bamboohrWebhook: VendorWebhook = {
  vendor: 'BambooHR',
  verify(secret, raw, headers, now) {
    const sig = header(headers, 'x-bamboohr-signature');
    const ts = header(headers, 'x-bamboohr-timestamp');
    if (!sig || !ts) return { ok: false, reason: 'missing_signature' };
    if (!sameSignature(sig.toLowerCase(), hmac('sha256', secret, raw, ts).toString('hex'))) return { ok: false, reason: 'bad_signature' };
    return fresh(parseTimestamp(ts), now);
  },
  events(body) {
    const out: WebhookEvent[] = [];
    const b = body as { employees?: unknown; type?: unknown; data?: { employeeId?: unknown; id?: unknown } } | null;
    if (b && Array.isArray(b.employees)) {
      for (const e of b.employees.slice(0, 10_000) as Array<{ id?: unknown; action?: unknown }>) {
        const id = idOf(e?.id);
        if (id) out.push({ externalId: id, kind: /delete|terminat/i.test(String(e.action ?? '')) ? 'deleted' : 'changed' });
      }
    } else if (b && typeof b.type === 'string' && /^employee\./i.test(b.type)) {
      const id = idOf(b.data?.employeeId ?? b.data?.id);
      if (id) out.push({ externalId: id, kind: /delete|terminat/i.test(b.type) ? 'deleted' : 'changed' });
    }
    return out;
  },
};
