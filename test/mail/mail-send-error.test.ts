import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/lib/errors.js';
import { classifySmtpError, isMailSendError, MailSendError, redactAddresses, toMailSendError } from '../../src/mail/mail-send-error.js';

const smtp = (responseCode: number, response: string, command = 'RCPT TO:<bob@acme.example>', code = 'EENVELOPE') =>
  Object.assign(new Error(`Can't send mail - ${response}`), { code, responseCode, response, command });
const net = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:25`), { code });

describe('classifySmtpError', () => {
  it.each([
    ['451 at RCPT', smtp(451, '451 4.3.0 Temporary local problem'), 'transient', 'temporary_failure'],
    ['421 service not available', smtp(421, '421 4.4.2 Too many connections', 'MAIL FROM', 'EPROTOCOL'), 'transient', 'temporary_failure'],
    ['450 mailbox busy', smtp(450, '450 4.2.1 Mailbox busy'), 'transient', 'temporary_failure'],
    ['452 insufficient storage', smtp(452, '452 4.3.1 Insufficient system storage', 'DATA', 'EMESSAGE'), 'transient', 'temporary_failure'],
    ['503 bad sequence', smtp(503, '503 5.5.1 Bad sequence of commands', 'DATA', 'EPROTOCOL'), 'transient', 'temporary_failure'],
    ['550 unknown user', smtp(550, '550 5.1.1 <bob@acme.example>: Recipient address rejected'), 'permanent', 'recipient_rejected'],
    ['553 mailbox name not allowed', smtp(553, '553 5.1.3 Bad recipient address syntax'), 'permanent', 'recipient_rejected'],
    ['551 user not local', smtp(551, '551 5.1.6 User has moved'), 'permanent', 'recipient_rejected'],
    ['554 message refused at DATA', smtp(554, '554 5.7.1 Message rejected as spam', 'DATA', 'EMESSAGE'), 'permanent', 'message_rejected'],
    ['552 message too large', smtp(552, '552 5.3.4 Message size exceeds fixed limit', 'DATA', 'EMESSAGE'), 'permanent', 'message_rejected'],
    ['535 bad credentials', smtp(535, '535 5.7.8 Authentication credentials invalid', 'AUTH PLAIN', 'EAUTH'), 'transient', 'auth_failed'],
    ['connection refused', net('ESOCKET'), 'transient', 'connection_failed'],
    ['connection closed', net('ECONNECTION'), 'transient', 'connection_failed'],
    ['raw ECONNRESET', net('ECONNRESET'), 'transient', 'connection_failed'],
    ['greeting timeout', net('ETIMEDOUT'), 'transient', 'timeout'],
    ['DNS failure', net('EDNS'), 'transient', 'connection_failed'],
    ['no recipients (nodemailer)', Object.assign(new Error('No recipients defined'), { code: 'EENVELOPE' }), 'permanent', 'invalid_recipient'],
    ['anything else', new Error('boom'), 'transient', 'unknown'],
    ['not even an Error', 'boom', 'transient', 'unknown'],
    ['invalid invitation data (AppError)', new AppError('validation_failed', 'bad'), 'permanent', 'invalid_recipient'],
  ] as const)('%s → %s', (_name, err, expected, reason) => {
    expect(classifySmtpError(err)).toBe(expected);
    const e = toMailSendError(err);
    expect(e.reason).toBe(reason);
    expect(e.permanent).toBe(expected === 'permanent');
    expect(e.retryable).toBe(expected === 'transient');
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
