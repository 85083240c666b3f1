import { fresh, hmac, header, idOf, parseTimestamp, sameSignature, type VendorWebhook } from '../webhook.js';

/**
 * Personio v2 webhooks (developer.personio.de/v2.0/reference/webhooks): `{ company_id,
 * event_name: "Person.created|updated|deleted" | "Employment.created|updated|deleted",
 * occurred_at, payload, meta }`, ids only. Signed with the webhook's secret: the hex
 * HMAC-SHA256 of the raw body in `X-Personio-Signature` (optionally prefixed `sha256=`); the
 * signed `occurred_at` is the delivery's timestamp. A person is an employee (1:1): the person
 * id is the employee id the connector lists.
 */
export const personioWebhook: VendorWebhook = {
  vendor: 'Personio',
  verify(secret, raw, headers, now) {
    const sig = header(headers, 'x-personio-signature');
    if (!sig) return { ok: false, reason: 'missing_signature' };
    if (!sameSignature(sig.replace(/^sha256=/i, '').toLowerCase(), hmac('sha256', secret, raw).toString('hex'))) return { ok: false, reason: 'bad_signature' };
    let at: Date | null = null;
    try {
      at = parseTimestamp((JSON.parse(raw.toString('utf8')) as { occurred_at?: unknown }).occurred_at);
    } catch {
      at = null;
    }
    return fresh(at, now);
  },
  events(body) {
    const b = body as { event_name?: unknown; payload?: { id?: unknown; person_id?: unknown; person?: { id?: unknown } } } | null;
    if (!b || typeof b.event_name !== 'string') return [];
    const [entity, action] = b.event_name.toLowerCase().split('.');
    let id: string | null = null;
    if (entity === 'person') id = idOf(b.payload?.id);
    else if (entity === 'employment') id = idOf(b.payload?.person?.id ?? b.payload?.person_id);
    if (!id) return [];
    // An employment deleted leaves the person: the look-up by id decides.
    return [{ externalId: id, kind: entity === 'person' && action === 'deleted' ? 'deleted' : 'changed' }];
  },
};
