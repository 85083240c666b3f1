import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from '../../src/notifications/signature.js';

/** The receiver's recipe of docs/notifications.md, word for word but for the clock (a parameter here). */
function receiverCheck(secret: string, rawBody: string, header: string, now: number, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=')));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(now - t) > toleranceSeconds) return false; // a replay
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1 ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(expected, given);
}

const SECRET = 'whsec-test-0123456789abcdef';
const body = JSON.stringify({ id: 'e1', type: 'sync.run.held', organizationId: 'acme', occurredAt: '2026-12-05T20:00:00.000Z', data: { runId: 'r1', heldDeactivations: 5 } });

describe('webhook signatures', () => {
  const t = 1_796_500_000;
  const header = signPayload(SECRET, body, t);

  it('carries t= and v1= (hex HMAC-SHA256 of `${t}.${body}`)', () => {
    expect(header).toMatch(/^t=1796500000,v1=[0-9a-f]{64}$/);
    expect(receiverCheck(SECRET, body, header, t + 10)).toBe(true);
    expect(verifySignature(SECRET, body, header, { now: t + 10 })).toBe(true);
  });

  it.each([
    ['a tampered body', body.replace('"heldDeactivations":5', '"heldDeactivations":50'), header, SECRET, t],
    ['whitespace added to the body', `${body} `, header, SECRET, t],
    ['another secret', body, header, 'whsec-other-0123456789abcdef', t],
    ['a tampered timestamp', body, header.replace(`t=${t}`, `t=${t + 1}`), SECRET, t],
    ['an old timestamp (replay)', body, header, SECRET, t + 3_600],
  ])('fails the check with %s', (_name, b, h, secret, now) => {
    expect(receiverCheck(secret, b, h, now)).toBe(false);
    expect(verifySignature(secret, b, h, { now })).toBe(false);
  });

  it('refuses malformed headers', () => {
    for (const h of [undefined, '', 'v1=abc', `t=${t}`, `t=x,v1=${'0'.repeat(64)}`, `t=${t},v1=zz`]) expect(verifySignature(SECRET, body, h, { now: t })).toBe(false);
  });
});
