import { isAppError } from '../lib/errors.js';
import { redactAddresses } from '../lib/redact.js';

/**
 * Why a message was not sent. `permanent` reasons fail that one invitation (the batch goes
 * on); the others are worth a retry with backoff.
 */
export type MailFailureReason =
  | 'recipient_rejected' // 5xx to RCPT TO (550, 553, 5.1.1 …)
  | 'message_rejected' // 5xx to DATA / the message itself (552, 554 …)
  | 'invalid_recipient' // the address could not be used at all (refused before sending)
  | 'temporary_failure' // 4xx (421, 450, 451, 452 …) or 503
  | 'connection_failed'
  | 'timeout'
  | 'auth_failed' // the transport's credentials: not the recipient's fault, so retried
  | 'transport_closed'
  | 'io_error' // file outbox
  | 'unknown';

export type MailErrorClass = 'transient' | 'permanent';

const PERMANENT_REASONS: ReadonlySet<MailFailureReason> = new Set(['recipient_rejected', 'message_rejected', 'invalid_recipient']);

/**
 * The one error a MailTransport rejects with. It carries no e-mail address: the server's
 * response is kept with addresses replaced, and the original error is not attached as
 * `cause` (nodemailer's errors list the rejected recipients).
 */
export class MailSendError extends Error {
  override readonly name = 'MailSendError';
  readonly code = 'mail_send_failed' as const;
  readonly reason: MailFailureReason;
  /** true: retrying cannot help, record the failure on that invitation and go on. */
  readonly permanent: boolean;
  /** Mirrors AppError: the opposite of `permanent`. */
  readonly retryable: boolean;
  /** SMTP reply code (e.g. 451, 550), null when there was no SMTP reply. */
  readonly responseCode: number | null;
  /** RFC 3463 enhanced status code from the reply (e.g. "5.1.1"), when the server sent one. */
  readonly enhancedCode: string | null;
  /** nodemailer / Node error code (e.g. EENVELOPE, ECONNECTION), when there was one. */
  readonly transportCode: string | null;
  /** SMTP command that failed (e.g. "RCPT TO"), without arguments. */
  readonly command: string | null;
  /** Server response with e-mail addresses replaced; safe to store and log. */
  readonly response: string | null;

  constructor(
    reason: MailFailureReason,
    message: string,
    opts: {
      permanent?: boolean;
      responseCode?: number | null;
      enhancedCode?: string | null;
      transportCode?: string | null;
      command?: string | null;
      response?: string | null;
    } = {},
  ) {
    super(message);
    this.reason = reason;
    this.permanent = opts.permanent ?? PERMANENT_REASONS.has(reason);
    this.retryable = !this.permanent;
    this.responseCode = opts.responseCode ?? null;
    this.enhancedCode = opts.enhancedCode ?? null;
    this.transportCode = opts.transportCode ?? null;
    this.command = opts.command ?? null;
    this.response = opts.response ?? null;
  }

  /** A plain object for logs and for the invitation's failure record. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      reason: this.reason,
      permanent: this.permanent,
      responseCode: this.responseCode,
      enhancedCode: this.enhancedCode,
      transportCode: this.transportCode,
      command: this.command,
      response: this.response,
      message: this.message,
    };
  }
}

/** Checked by name as well as instanceof: errors may cross module copies (tsx vs dist). */
export function isMailSendError(err: unknown): err is MailSendError {
  return err instanceof MailSendError || (err instanceof Error && err.name === 'MailSendError' && 'permanent' in err);
}

export { redactAddresses };

const CONNECTION_CODES = new Set([
  'ECONNECTION', 'ESOCKET', 'EDNS', 'ETLS', 'EPROTOCOL', 'EMAXLIMIT', 'ESTREAM', 'EPROXY',
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ETIMEOUT', 'ESOCKETTIMEDOUT']);
const AUTH_CODES = new Set(['EAUTH', 'ENOAUTH', 'EOAUTH2']);

interface SmtpLikeError {
  code?: unknown;
  responseCode?: unknown;
  response?: unknown;
  command?: unknown;
  message?: unknown;
}

function enhancedCodeOf(response: string | null): string | null {
  if (!response) return null;
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response) ?? /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(response);
  return m ? m[1]! : null;
}

function commandName(command: unknown): string | null {
  if (typeof command !== 'string' || command === '') return null;
  // "RCPT TO:<ana@acme.example>" → "RCPT TO"; "AUTH PLAIN xyz" → "AUTH"
  const upper = command.toUpperCase();
  if (upper.startsWith('MAIL FROM')) return 'MAIL FROM';
  if (upper.startsWith('RCPT TO')) return 'RCPT TO';
  return upper.split(/[\s:]/)[0] || null;
}

/**
 * Turn whatever a transport threw into a MailSendError (returned as is when it already is one).
 *
 * - a MailSendError keeps its own classification;
 * - an AppError: permanent unless it is retryable (e.g. invalid invitation data);
 * - an SMTP reply: 4xx and 503 transient, other 5xx permanent (recipient_rejected when the
 *   reply answered RCPT TO or the envelope, message_rejected otherwise);
 * - authentication failures (EAUTH, 530/534/535 to AUTH) transient: a configuration problem
 *   must not fail every invitation of a batch, the job retries and then fails visibly;
 * - connection errors and timeouts transient; anything unknown transient.
 */
export function toMailSendError(err: unknown): MailSendError {
  if (isMailSendError(err)) return err;
  if (isAppError(err)) {
    return new MailSendError(err.retryable ? 'unknown' : 'invalid_recipient', redactAddresses(err.message), {
      permanent: !err.retryable,
      transportCode: err.code,
    });
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpLikeError;
  const transportCode = typeof e.code === 'string' ? e.code : null;
  const responseCode = typeof e.responseCode === 'number' && Number.isFinite(e.responseCode) ? e.responseCode : null;
  const response = typeof e.response === 'string' ? redactAddresses(e.response).slice(0, 500) : null;
  const command = commandName(e.command);
  const enhancedCode = enhancedCodeOf(response);
  const opts = { responseCode, enhancedCode, transportCode, command, response };
  const describe = (what: string) =>
    [what, responseCode, enhancedCode, command ? `(${command})` : null].filter((x) => x !== null && x !== '').join(' ');

  if (transportCode !== null && AUTH_CODES.has(transportCode)) {
    return new MailSendError('auth_failed', describe('SMTP authentication failed'), { ...opts, permanent: false });
  }
  if (responseCode !== null) {
    if (command === 'AUTH' || responseCode === 530 || responseCode === 534 || responseCode === 535) {
      return new MailSendError('auth_failed', describe('SMTP authentication failed'), { ...opts, permanent: false });
    }
    if (responseCode >= 400 && responseCode < 500) {
      return new MailSendError('temporary_failure', describe('SMTP temporary failure'), { ...opts, permanent: false });
    }
    if (responseCode === 503) {
      // bad sequence of commands: the session's state, not the message
      return new MailSendError('temporary_failure', describe('SMTP bad sequence'), { ...opts, permanent: false });
    }
    if (responseCode >= 500 && responseCode < 600) {
      const forRecipient = command === 'RCPT TO' || transportCode === 'EENVELOPE' || (enhancedCode?.startsWith('5.1.') ?? false);
      return forRecipient
        ? new MailSendError('recipient_rejected', describe('SMTP recipient rejected'), { ...opts, permanent: true })
        : new MailSendError('message_rejected', describe('SMTP message rejected'), { ...opts, permanent: true });
    }
    return new MailSendError('unknown', describe('SMTP unexpected reply'), { ...opts, permanent: false });
  }
  if (transportCode !== null && TIMEOUT_CODES.has(transportCode)) {
    return new MailSendError('timeout', describe('SMTP timeout'), { ...opts, permanent: false });
  }
  if (transportCode !== null && CONNECTION_CODES.has(transportCode)) {
    return new MailSendError('connection_failed', describe(`SMTP connection failed (${transportCode})`), { ...opts, permanent: false });
  }
  if (transportCode === 'EENVELOPE' || transportCode === 'EMAXRECIPIENTS') {
    // refused by nodemailer before any reply, e.g. no usable recipient address
    return new MailSendError('invalid_recipient', describe(`invalid envelope (${transportCode})`), { ...opts, permanent: true });
  }
  const message = typeof e.message === 'string' ? redactAddresses(e.message).slice(0, 200) : String(err);
  return new MailSendError('unknown', `mail send failed: ${message}`, { ...opts, permanent: false });
}

/** 'permanent': that invitation fails, the batch goes on. 'transient': retry with backoff. */
export function classifySmtpError(err: unknown): MailErrorClass {
  return toMailSendError(err).permanent ? 'permanent' : 'transient';
}
