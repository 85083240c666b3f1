import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bamboohrWebhook } from '../../connectors/bamboohr/webhook.js';
import { hibobWebhook } from '../../connectors/hibob/webhook.js';
import { personioWebhook } from '../../connectors/personio/webhook.js';

const NOW = new Date('2026-12-05T20:00:00Z');
const SECRET = 'a-webhook-secret-123';

describe('BambooHR: hex HMAC-SHA256 of body + X-BambooHR-Timestamp', () => {
  const raw = Buffer.from('{"employees":[{"id":"7","action":"Updated"},{"id":"9","action":"Deleted"}]}');
  const ts = String(NOW.getTime() / 1000);
  const sig = createHmac('sha256', SECRET).update(raw).update(ts).digest('hex');
  it('accepts the signed delivery and names both people, the deleted one as such', () => {
    expect(bamboohrWebhook.verify(SECRET, raw, { 'x-bamboohr-signature': sig, 'x-bamboohr-timestamp': ts }, NOW)).toMatchObject({ ok: true });
    expect(bamboohrWebhook.events(JSON.parse(raw.toString()))).toEqual([{ externalId: '7', kind: 'changed' }, { externalId: '9', kind: 'deleted' }]);
  });
  it.each([
    ['another secret', { 'x-bamboohr-signature': createHmac('sha256', 'other').update(raw).update(ts).digest('hex'), 'x-bamboohr-timestamp': ts }, NOW, 'bad_signature'],
    ['a changed timestamp', { 'x-bamboohr-signature': sig, 'x-bamboohr-timestamp': String(Number(ts) + 1) }, NOW, 'bad_signature'],
    ['no signature', { 'x-bamboohr-timestamp': ts }, NOW, 'missing_signature'],
    ['a delivery 6 minutes old', { 'x-bamboohr-signature': sig, 'x-bamboohr-timestamp': ts }, new Date(NOW.getTime() + 6 * 60_000), 'stale'],
  ])('refuses %s', (_n, headers, now, reason) => {
    expect(bamboohrWebhook.verify(SECRET, raw, headers, now)).toEqual({ ok: false, reason });
  });
});

describe('HiBob v2: base64 HMAC-SHA512 in Bob-Signature, signed triggeredAt', () => {
  const body = { companyId: 1, type: 'employee.left', triggeredBy: 'system', triggeredAt: NOW.toISOString(), version: 'v2', data: { employeeId: '3332883884017713238' } };
  const raw = Buffer.from(JSON.stringify(body));
  const sig = createHmac('sha512', SECRET).update(raw).digest('base64');
  it('accepts, and a "left" event is a deletion to confirm', () => {
    expect(hibobWebhook.verify(SECRET, raw, { 'bob-signature': sig }, NOW)).toMatchObject({ ok: true });
    expect(hibobWebhook.events(body)).toEqual([{ externalId: '3332883884017713238', kind: 'deleted' }]);
    expect(hibobWebhook.events({ ...body, type: 'timeoff.request.created' })).toEqual([]);
  });
  it('refuses a tampered body and an old event', () => {
    expect(hibobWebhook.verify(SECRET, Buffer.from(raw.toString().replace('left', 'updated')), { 'bob-signature': sig }, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hibobWebhook.verify(SECRET, raw, { 'bob-signature': sig }, new Date(NOW.getTime() + 10 * 60_000))).toEqual({ ok: false, reason: 'stale' });
  });
});

describe('Personio v2: hex HMAC-SHA256 in X-Personio-Signature, signed occurred_at', () => {
  const body = { company_id: '1', event_name: 'Employment.updated', occurred_at: NOW.toISOString(), payload: { id: 'e-1', person: { id: '42' } } };
  const raw = Buffer.from(JSON.stringify(body));
  const sig = createHmac('sha256', SECRET).update(raw).digest('hex');
  it('accepts with or without the sha256= prefix, and reads the person id of an employment event', () => {
    expect(personioWebhook.verify(SECRET, raw, { 'x-personio-signature': sig }, NOW)).toMatchObject({ ok: true });
    expect(personioWebhook.verify(SECRET, raw, { 'x-personio-signature': `sha256=${sig}` }, NOW)).toMatchObject({ ok: true });
    expect(personioWebhook.events(body)).toEqual([{ externalId: '42', kind: 'changed' }]);
    expect(personioWebhook.events({ ...body, event_name: 'Person.deleted', payload: { id: 42 } })).toEqual([{ externalId: '42', kind: 'deleted' }]);
  });
  it('refuses a wrong signature', () => {
    expect(personioWebhook.verify(SECRET, raw, { 'x-personio-signature': sig.replace(/^./, (c) => (c === 'a' ? 'b' : 'a')) }, NOW)).toEqual({ ok: false, reason: 'bad_signature' });
  });
});
