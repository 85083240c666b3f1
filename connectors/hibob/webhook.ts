import { fresh, hmac, header, idOf, parseTimestamp, sameSignature, type VendorWebhook } from '../webhook.js';

/**
 * HiBob webhooks v2 (apidocs.hibob.com, "Working with webhooks", "Webhooks v2 events"): the
 * `Bob-Signature` header is the base64 HMAC-SHA512 of the raw body with the webhook's secret.
 * Payload `{ companyId, type: "employee.created|updated|joined|left|deleted|…", triggeredBy,
 * triggeredAt, version: "v2", data: { employeeId, … } }`: ids only, the rest is fetched by id.
 * The signed `triggeredAt` is the delivery's timestamp.
 */
export const hibobWebhook: VendorWebhook = {
  vendor: 'HiBob',
  verify(secret, raw, headers, now) {
    const sig = header(headers, 'bob-signature');
    if (!sig) return { ok: false, reason: 'missing_signature' };
    if (!sameSignature(sig, hmac('sha512', secret, raw).toString('base64'))) return { ok: false, reason: 'bad_signature' };
    let at: Date | null = null;
    try {
      at = parseTimestamp((JSON.parse(raw.toString('utf8')) as { triggeredAt?: unknown }).triggeredAt);
    } catch {
      at = null;
    }
    return fresh(at, now);
  },
  events(body) {
    const b = body as { type?: unknown; data?: { employeeId?: unknown; id?: unknown } } | null;
    if (!b || typeof b.type !== 'string' || !/^employee\./i.test(b.type)) return [];
    const id = idOf(b.data?.employeeId ?? b.data?.id);
    return id ? [{ externalId: id, kind: /\.(left|deleted|inactivated|terminated)$/i.test(b.type) ? 'deleted' : 'changed' }] : [];
  },
};
