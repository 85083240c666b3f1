import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildAcceptUrl, compileInvitationTemplates, type CompiledInvitationTemplates, type InvitationMailData } from '../../src/mail/invitation-template.js';
import { createLogger } from '../../src/lib/logger.js';
import { isMailSendError, type MailSendError } from '../../src/mail/mail-send-error.js';
import { SmtpMailTransport } from '../../src/mail/smtp-transport.js';
import type { MailTransport } from '../../src/mail/types.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';

const TOKEN = 'tok_secret_never_logged_0123456789abcdef';
const invitation = (i: number, over: Partial<InvitationMailData> = {}): InvitationMailData => ({
  to: `person${i}@acme.example`,
  firstName: `Person${i}`,
  lastName: 'Tester',
  organizationName: 'Acme GmbH',
  loginMethod: 'password',
  message: null,
  acceptUrl: buildAcceptUrl('https://app.example', `${TOKEN}_${i}`),
  expiresAt: new Date('2026-03-04T15:30:00Z'),
  ...over,
});

async function rejectionOf(p: Promise<unknown>): Promise<MailSendError> {
  try {
    await p;
  } catch (err) {
    if (isMailSendError(err)) return err;
    throw err;
  }
  throw new Error('expected the send to fail');
}

let sink: SmtpSink;
let compiled: CompiledInvitationTemplates;
let transport: MailTransport | undefined;

beforeAll(async () => {
  sink = await startSmtpSink();
  compiled = await compileInvitationTemplates({ from: 'Acme Workplace <no-reply@acme.example>' });
});
afterAll(async () => {
  await sink.close();
});
beforeEach(() => {
  sink.setFaults({});
  sink.reset();
});
afterEach(async () => {
  await transport?.close();
  transport = undefined;
});

describe('SMTP transport', () => {
  it('delivers a built invitation that the server parses back to the rendered mail', async () => {
    transport = new SmtpMailTransport({ url: sink.url });
    const data = invitation(1, { message: 'Welcome!\nSee you Monday.', loginMethod: 'sso' });
    const mail = compiled.build(data);
    const res = await transport.send(mail);
    expect(res.messageId).toBe(mail.messageId);
    expect(transport.kind).toBe('smtp');
    expect(sink.messages).toHaveLength(1);
    const got = sink.messages[0]!;
    const r = compiled.render(data);
    expect(got.envelope).toEqual({ from: 'no-reply@acme.example', to: ['person1@acme.example'] });
    expect(got.subject).toBe(r.subject);
    expect(got.html!.replace(/\r\n/g, '\n')).toBe(r.html);
    expect(got.text!.replace(/\r\n/g, '\n').trimEnd()).toBe(r.text.trimEnd());
    expect(got.messageId).toBe(mail.messageId);
    expect(got.toAddresses).toEqual(['person1@acme.example']);
  });

  it('sends 200 messages over a few pooled connections', async () => {
    transport = new SmtpMailTransport({ url: sink.url, maxConnections: 4, maxMessages: 100 });
    const t = transport;
    const mails = Array.from({ length: 200 }, (_, i) => compiled.build(invitation(i)));
    const results = await Promise.all(mails.map((m) => t.send(m)));
    expect(results).toHaveLength(200);
    expect(sink.stats.received).toBe(200);
    expect(new Set(sink.messages.map((m) => m.messageId)).size).toBe(200);
    expect(new Set(sink.messages.flatMap((m) => m.envelope.to))).toEqual(new Set(mails.map((m) => m.envelope.to[0])));
    expect(sink.stats.maxOpenConnections).toBeLessThanOrEqual(4);
    expect(sink.stats.connections).toBeLessThanOrEqual(8); // ≥ 25 messages per connection
    expect(new Set(sink.messages.map((m) => m.sessionId)).size).toBe(sink.stats.connections);
  });

  it('reports 451 as transient, and the retry goes through', async () => {
    sink.setFaults({ transient: { count: 1, recipients: ['person7@acme.example'] } });
    transport = new SmtpMailTransport({ url: sink.url });
    const mail = compiled.build(invitation(7));
    const err = await rejectionOf(transport.send(mail));
    expect(err.permanent).toBe(false);
    expect(err.responseCode).toBe(451);
    expect(err.reason).toBe('temporary_failure');
    // a retry (the queue's backoff) delivers the same message
    await transport.send(mail);
    expect(sink.messages.map((m) => m.messageId)).toEqual([mail.messageId]);
  });

  it('reports 451 after DATA as transient', async () => {
    sink.setFaults({ transient: { count: 1, stage: 'data' } });
    transport = new SmtpMailTransport({ url: sink.url });
    const err = await rejectionOf(transport.send(compiled.build(invitation(8))));
    expect(err.permanent).toBe(false);
    expect(err.responseCode).toBe(451);
    expect(sink.stats.received).toBe(0);
  });

  it('fails a 550 recipient permanently while the other recipients are delivered', async () => {
    sink.setFaults({ reject: { recipients: ['person3@acme.example'] } });
    transport = new SmtpMailTransport({ url: sink.url, maxConnections: 2 });
    const t = transport;
    const mails = Array.from({ length: 20 }, (_, i) => compiled.build(invitation(i)));
    const settled = await Promise.allSettled(mails.map((m) => t.send(m)));
    const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [[i, s.reason as MailSendError] as const] : []));
    expect(failed.map(([i]) => i)).toEqual([3]);
    const err = failed[0]![1];
    expect(err.permanent).toBe(true);
    expect(err.responseCode).toBe(550);
    expect(err.enhancedCode).toBe('5.1.1');
    expect(err.reason).toBe('recipient_rejected');
    expect(JSON.stringify(err)).not.toContain('person3');
    expect(sink.stats.received).toBe(19);
  });

  it('reports a server that refuses connections (421) as transient', async () => {
    sink.setFaults({ refuseConnections: 1000 });
    transport = new SmtpMailTransport({ url: sink.url, maxConnections: 1 });
    const err = await rejectionOf(transport.send(compiled.build(invitation(9))));
    expect(err.permanent).toBe(false);
    expect(sink.stats.received).toBe(0);
  });

  it('reports an unreachable server as a transient connection failure', async () => {
    const gone = await startSmtpSink();
    await gone.close();
    transport = new SmtpMailTransport({ url: gone.url, connectionTimeoutMs: 2000 });
    const err = await rejectionOf(transport.send(compiled.build(invitation(10))));
    expect(err.permanent).toBe(false);
    expect(err.reason).toBe('connection_failed');
  });

  it('waits for sends in flight on close, then refuses new ones as transient', async () => {
    sink.setFaults({ delayMs: 150 });
    const t = new SmtpMailTransport({ url: sink.url });
    const inFlight = t.send(compiled.build(invitation(11)));
    await new Promise((r) => setTimeout(r, 20));
    await t.close();
    await expect(inFlight).resolves.toMatchObject({ messageId: expect.any(String) });
    expect(sink.stats.received).toBe(1);
    const err = await rejectionOf(t.send(compiled.build(invitation(12))));
    expect(err.reason).toBe('transport_closed');
    expect(err.permanent).toBe(false);
  });

  it('logs ids, never addresses or tokens', async () => {
    const lines: string[] = [];
    const dest = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const logger = createLogger({ level: 'debug', destination: dest });
    sink.setFaults({ reject: { recipients: ['person2@acme.example'] }, transient: { count: 1, recipients: ['person4@acme.example'] } });
    transport = new SmtpMailTransport({ url: sink.url, logger });
    const t = transport;
    await Promise.allSettled([1, 2, 3, 4].map((i) => t.send({ ...compiled.build(invitation(i)), logId: `inv_${i}` })));
    await t.close();
    const out = lines.join('');
    expect(out).toContain('inv_2');
    expect(out).toContain('"responseCode":550');
    expect(out).not.toMatch(/person\d@/); // recipients (the Message-ID domain is the sender's)
    expect(out).not.toContain(TOKEN);
  });
});
