import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.js';
import { classifySmtpError, isMailSendError, MailSendError, redactAddresses, SameRefusalStreak, toMailSendError } from '../../src/mail/mail-send-error.js';

const smtp = (responseCode: number, response: string, command = 'RCPT TO:<bob@acme.example>', code = 'EENVELOPE') =>
  Object.assign(new Error(`Can't send mail - ${response}`), { code, responseCode, response, command });
const net = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:25`), { code });

describe('classifySmtpError', () => {
  it.each([
    ['451 at RCPT', smtp(451, '451 4.3.0 Temporary local problem'), 'transient', 'temporary_failure', 'server'],
    ['421 service not available', smtp(421, '421 4.4.2 Too many connections', 'MAIL FROM', 'EPROTOCOL'), 'transient', 'temporary_failure', 'server'],
    ['450 mailbox busy', smtp(450, '450 4.2.1 Mailbox busy'), 'transient', 'temporary_failure', 'server'],
    ['452 insufficient storage', smtp(452, '452 4.3.1 Insufficient system storage', 'DATA', 'EMESSAGE'), 'transient', 'temporary_failure', 'server'],
    ['503 bad sequence', smtp(503, '503 5.5.1 Bad sequence of commands', 'DATA', 'EPROTOCOL'), 'transient', 'temporary_failure', 'server'],
    ['550 unknown user', smtp(550, '550 5.1.1 <bob@acme.example>: Recipient address rejected'), 'permanent', 'recipient_rejected', 'recipient'],
    ['553 mailbox name not allowed', smtp(553, '553 5.1.3 Bad recipient address syntax'), 'permanent', 'recipient_rejected', 'recipient'],
    ['551 user not local', smtp(551, '551 5.1.6 User has moved'), 'permanent', 'recipient_rejected', 'recipient'],
    ['554 message refused at DATA', smtp(554, '554 5.7.1 Message rejected as spam', 'DATA', 'EMESSAGE'), 'permanent', 'message_rejected', 'recipient'],
    ['552 message too large', smtp(552, '552 5.3.4 Message size exceeds fixed limit', 'DATA', 'EMESSAGE'), 'permanent', 'message_rejected', 'recipient'],
    ['535 bad credentials', smtp(535, '535 5.7.8 Authentication credentials invalid', 'AUTH PLAIN', 'EAUTH'), 'transient', 'auth_failed', 'sender'],
    ['connection refused', net('ESOCKET'), 'transient', 'connection_failed', 'server'],
    ['connection closed', net('ECONNECTION'), 'transient', 'connection_failed', 'server'],
    ['raw ECONNRESET', net('ECONNRESET'), 'transient', 'connection_failed', 'server'],
    ['greeting timeout', net('ETIMEDOUT'), 'transient', 'timeout', 'server'],
    ['DNS failure', net('EDNS'), 'transient', 'connection_failed', 'server'],
    ['no recipients (nodemailer)', Object.assign(new Error('No recipients defined'), { code: 'EENVELOPE' }), 'permanent', 'invalid_recipient', 'recipient'],
    ['anything else', new Error('boom'), 'transient', 'unknown', 'server'],
    ['not even an Error', 'boom', 'transient', 'unknown', 'server'],
    ['invalid invitation data (AppError)', new AppError('validation_failed', 'bad'), 'permanent', 'invalid_recipient', 'recipient'],
    ['550 to MAIL FROM (sender refused)', smtp(550, '550 5.7.1 <noreply@acme.example>: Sender address rejected: not owned by user', 'MAIL FROM:<noreply@acme.example>'), 'transient', 'sender_rejected', 'sender'],
    ['553 to MAIL FROM', smtp(553, '553 5.1.8 Domain of sender address does not exist', 'MAIL FROM'), 'transient', 'sender_rejected', 'sender'],
    ['535 without a command', Object.assign(new Error('Invalid login: 535'), { code: 'EAUTH', responseCode: 535, response: '535 Authentication failed' }), 'transient', 'auth_failed', 'sender'],
    ['TLS handshake', Object.assign(new Error('Error initiating TLS'), { code: 'ETLS' }), 'transient', 'tls_failed', 'sender'],
    ['expired certificate', Object.assign(new Error('certificate has expired'), { code: 'ESOCKET', originalCode: 'CERT_HAS_EXPIRED' }), 'transient', 'tls_failed', 'sender'],
    ['self-signed certificate', Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }), 'transient', 'tls_failed', 'sender'],
    ['554 greeting', smtp(554, '554 5.7.1 No SMTP service here', 'CONN', 'EPROTOCOL'), 'transient', 'server_refused', 'sender'],
    ['invalid sender (nodemailer)', Object.assign(new Error('Invalid sender "x"'), { code: 'EENVELOPE' }), 'transient', 'sender_rejected', 'sender'],
    ['connection refused (system code kept)', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET', originalCode: 'ECONNREFUSED' }), 'transient', 'connection_failed', 'server'],
  ] as const)('%s → %s', (_name, err, expected, reason, scope) => {
    expect(classifySmtpError(err)).toBe(expected);
    const e = toMailSendError(err);
    expect(e.reason).toBe(reason);
    expect(e.scope).toBe(scope);
    expect(e.permanent).toBe(expected === 'permanent');
    // only the server's faults are worth trying again as they are; the sender's need a fix
    expect(e.retryable).toBe(scope === 'server');
  });

  it('keeps the reply code and enhanced code, and no address', () => {
    const e = toMailSendError(smtp(550, '550 5.1.1 <bob@acme.example>: Recipient address rejected'));
    expect(e).toBeInstanceOf(MailSendError);
    expect(e.responseCode).toBe(550);
    expect(e.enhancedCode).toBe('5.1.1');
    expect(e.command).toBe('RCPT TO');
    expect(e.response).toBe('550 5.1.1 <[address]>: Recipient address rejected');
    expect(JSON.stringify(e)).not.toContain('bob@');
    expect(e.message).not.toContain('bob@');
    expect(e.cause).toBeUndefined();
  });

  it('leaves a MailSendError as it is, recognized by name across module copies', () => {
    const e = new MailSendError('recipient_rejected', 'x', { responseCode: 550 });
    expect(toMailSendError(e)).toBe(e);
    const foreign = Object.assign(new Error('x'), { name: 'MailSendError', permanent: true });
    expect(isMailSendError(foreign)).toBe(true);
  });

  it('redacts every address-like token', () => {
    expect(redactAddresses('to a.b+c@x.example and <d@y.example>')).toBe('to [address] and <[address]>');
  });
});

describe('SameRefusalStreak', () => {
  const relay = () => toMailSendError(smtp(554, '554 5.7.1 Relay access denied'));
  const unknownUser = () => toMailSendError(smtp(550, '550 5.1.1 User unknown'));

  it('is reached by the same refusal for N different recipients in a row, and lists them', () => {
    const s = new SameRefusalStreak(3);
    expect(s.push('1', 'a@x.example', relay())).toBe(false);
    expect(s.push('2', 'b@x.example', relay())).toBe(false);
    expect(s.push('3', 'c@x.example', relay())).toBe(true);
    expect(s.members).toEqual(['1', '2', '3']);
  });

  it('starts again after a success, another refusal, or the same recipient twice', () => {
    const s = new SameRefusalStreak(3);
    s.push('1', 'a@x.example', relay());
    s.push('2', 'b@x.example', relay());
    expect(s.push('3', 'c@x.example', null)).toBe(false);
    s.push('4', 'd@x.example', relay());
    s.push('5', 'd@x.example', relay());
    expect(s.push('6', 'e@x.example', toMailSendError(smtp(554, '554 5.7.2 Other')))).toBe(false);
    expect(s.members).toEqual(['6']);
  });

  it('never counts mailbox-specific refusals (5.1.x, 5.2.x): five unknown users are five bad addresses', () => {
    const s = new SameRefusalStreak(2);
    for (let i = 0; i < 5; i++) expect(s.push(String(i), `u${i}@x.example`, unknownUser())).toBe(false);
  });
});
