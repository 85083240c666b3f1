import { isAppError } from '../lib/errors.js';
import { redactAddresses } from '../lib/redact.js';

/**
 * Why a message was not sent, and whose fault it is (`scope`), in one place:
 *
 * - `recipient`: this address or this message was refused (5xx to RCPT TO, to DATA; an address
 *   no server takes). That invitation fails; the others go on.
 * - `sender`: the mail server refuses us — the sender (5xx to MAIL FROM), our credentials
 *   (535, EAUTH), TLS (a certificate error), our configuration. Nobody can be mailed until an
 *   administrator fixes it: the rollout pauses with the reason, and nobody fails.
 * - `server`: the server is away or busy (no connection, timeouts, 4xx): sending waits and
 *   goes on by itself when it is back, however long that takes.
 *
 * `permanent` is true for the recipient scope only (retrying cannot help that address).
 */
export type MailFailureReason =
  | 'recipient_rejected' // 5xx to RCPT TO (550, 553, 5.1.1 …)
  | 'message_rejected' // 5xx to DATA / the message itself (552, 554 …)
  | 'invalid_recipient' // the address could not be used at all (refused before sending)
  | 'sender_rejected' // 5xx to MAIL FROM, or an envelope sender nodemailer refuses
  | 'auth_failed' // the transport's credentials
  | 'tls_failed' // TLS could not be set up: certificates, versions
  | 'server_refused' // 5xx to the greeting or EHLO: this server will not take mail from us
  | 'temporary_failure' // 4xx (421, 450, 451, 452 …) or 503
  | 'connection_failed'
  | 'timeout'
  | 'transport_closed'
  | 'io_error' // file outbox
  | 'unknown';

export type MailFaultScope = 'recipient' | 'sender' | 'server';

export type MailErrorClass = 'transient' | 'permanent';

const RECIPIENT_REASONS: ReadonlySet<MailFailureReason> = new Set(['recipient_rejected', 'message_rejected', 'invalid_recipient']);
const SENDER_REASONS: ReadonlySet<MailFailureReason> = new Set(['sender_rejected', 'auth_failed', 'tls_failed', 'server_refused']);

export function scopeOfReason(reason: MailFailureReason): MailFaultScope {
  return RECIPIENT_REASONS.has(reason) ? 'recipient' : SENDER_REASONS.has(reason) ? 'sender' : 'server';
}

/**
 * The one error a MailTransport rejects with. It carries no e-mail address: the server's
 * response is kept with addresses replaced, and the original error is not attached as
 * `cause` (nodemailer's errors list the rejected recipients).
 */
export class MailSendError extends Error {
  override readonly name = 'MailSendError';
  readonly code = 'mail_send_failed' as const;
  readonly reason: MailFailureReason;
  /** Whose fault: the recipient's (fail it), the sender's (pause), the server's (wait). */
  readonly scope: MailFaultScope;
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
    this.scope = scopeOfReason(reason);
    this.permanent = opts.permanent ?? this.scope === 'recipient';
    this.retryable = this.scope === 'server';
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
      scope: this.scope,
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
const TLS_CODES = new Set(['ETLS', 'EREQUIRETLS']);
/** Node's TLS verification errors (err.code, or nodemailer's `originalCode` under ESOCKET/ETLS). */
const CERTIFICATE_CODE = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT|ERR_TLS_CERT|ERR_SSL_|HOSTNAME_MISMATCH|ERR_TLS_)/;

interface SmtpLikeError {
  code?: unknown;
  originalCode?: unknown;
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
 * - an AppError: the recipient's when not retryable (e.g. invalid invitation data);
 * - authentication (EAUTH, 530/534/535, any reply to AUTH), TLS and certificate errors: the sender's;
 * - an SMTP reply: 4xx and 503 the server's (wait); other 5xx: to MAIL FROM the sender's, to the
 *   greeting / EHLO the sender's (this server will not serve us), to RCPT TO or with an
 *   addressing status (5.1.x) the recipient's, to DATA the message's (recipient scope);
 * - connection errors, timeouts and anything unknown: the server's (wait).
 */
export function toMailSendError(err: unknown): MailSendError {
  if (isMailSendError(err)) return err;
  if (isAppError(err)) {
    return new MailSendError(err.retryable ? 'unknown' : 'invalid_recipient', redactAddresses(err.message), { transportCode: err.code });
  }
  const e = (typeof err === 'object' && err !== null ? err : {}) as SmtpLikeError;
  const transportCode = typeof e.code === 'string' ? e.code : null;
  const originalCode = typeof e.originalCode === 'string' ? e.originalCode : null;
  const responseCode = typeof e.responseCode === 'number' && Number.isFinite(e.responseCode) ? e.responseCode : null;
  const response = typeof e.response === 'string' ? redactAddresses(e.response).slice(0, 500) : null;
  const command = commandName(e.command);
  const enhancedCode = enhancedCodeOf(response);
  const opts = { responseCode, enhancedCode, transportCode, command, response };
  const describe = (what: string) =>
    [what, responseCode, enhancedCode, command ? `(${command})` : null].filter((x) => x !== null && x !== '').join(' ');

  if (transportCode !== null && AUTH_CODES.has(transportCode)) return new MailSendError('auth_failed', describe('SMTP authentication failed'), opts);
  if ((transportCode !== null && (TLS_CODES.has(transportCode) || CERTIFICATE_CODE.test(transportCode))) || (originalCode !== null && CERTIFICATE_CODE.test(originalCode))) {
    return new MailSendError('tls_failed', describe(`SMTP TLS failed (${originalCode && CERTIFICATE_CODE.test(originalCode) ? originalCode : transportCode})`), opts);
  }
  if (responseCode !== null) {
    if (command === 'AUTH' || responseCode === 530 || responseCode === 534 || responseCode === 535) {
      return new MailSendError('auth_failed', describe('SMTP authentication failed'), opts);
    }
    if ((responseCode >= 400 && responseCode < 500) || responseCode === 503) {
      return new MailSendError('temporary_failure', describe(responseCode === 503 ? 'SMTP bad sequence' : 'SMTP temporary failure'), opts);
    }
    if (responseCode >= 500 && responseCode < 600) {
      if (command === 'MAIL FROM' || (transportCode === 'EENVELOPE' && command === null)) return new MailSendError('sender_rejected', describe('SMTP sender refused'), opts);
      if (command === 'CONN' || command === 'EHLO' || command === 'HELO' || command === 'LHLO' || command === 'STARTTLS') return new MailSendError('server_refused', describe('SMTP server refused the session'), opts);
      const forRecipient = command === 'RCPT TO' || (enhancedCode?.startsWith('5.1.') ?? false);
      return forRecipient
        ? new MailSendError('recipient_rejected', describe('SMTP recipient rejected'), opts)
        : new MailSendError('message_rejected', describe('SMTP message rejected'), opts);
    }
    return new MailSendError('unknown', describe('SMTP unexpected reply'), opts);
  }
  if (transportCode !== null && TIMEOUT_CODES.has(transportCode)) return new MailSendError('timeout', describe('SMTP timeout'), opts);
  if (transportCode !== null && CONNECTION_CODES.has(transportCode)) {
    return new MailSendError('connection_failed', describe(`SMTP connection failed (${originalCode ?? transportCode})`), opts);
  }
  if (transportCode === 'EENVELOPE' || transportCode === 'EMAXRECIPIENTS') {
    // refused by nodemailer before any reply: the sender's address, or no usable recipient
    const sender = typeof e.message === 'string' && /invalid sender/i.test(e.message);
    return new MailSendError(sender ? 'sender_rejected' : 'invalid_recipient', describe(`invalid envelope (${transportCode})`), opts);
  }
  const message = typeof e.message === 'string' ? redactAddresses(e.message).slice(0, 200) : String(err);
  return new MailSendError('unknown', `mail send failed: ${message}`, opts);
}

/**
 * The same permanent refusal for `limit` different recipients in a row is the sender's fault,
 * whatever the reply says: a relay that refuses us answers every RCPT TO with the same 5.7.1.
 * Mailbox-specific replies (RFC 3463 X.1.x addressing and X.2.x mailbox status: unknown user,
 * mailbox full) never count. Feed outcomes in the order sent; `push` returns true when the
 * streak is reached, and `members` lists the ids (of any earlier chunk too) that belong to it.
 */
export class SameRefusalStreak {
  private signature: string | null = null;
  private readonly recipients = new Set<string>();
  readonly members: string[] = [];

  constructor(private readonly limit: number) {}

  push(id: string, recipient: string, error: MailSendError | null): boolean {
    if (!error || error.scope !== 'recipient' || /^5\.[12]\./.test(error.enhancedCode ?? '') || error.reason === 'invalid_recipient') {
      this.signature = null;
      this.recipients.clear();
      this.members.length = 0;
      return false;
    }
    const sig = `${error.reason}|${error.responseCode}|${error.enhancedCode}|${error.command}`;
    if (sig !== this.signature) {
      this.signature = sig;
      this.recipients.clear();
      this.members.length = 0;
    }
    this.recipients.add(recipient.toLowerCase());
    this.members.push(id);
    return this.limit > 0 && this.recipients.size >= this.limit;
  }
}

/** 'permanent': that invitation fails, the batch goes on. 'transient': not that address's fault (see `scope`). */
export function classifySmtpError(err: unknown): MailErrorClass {
  return toMailSendError(err).permanent ? 'permanent' : 'transient';
}

/** The text an administrator reads on a rollout the mail server stopped: the reason and the reply, no address. */
export function describeSenderFault(e: MailSendError): string {
  const reply = e.response ? `: ${e.response.replace(/\s+/g, ' ').slice(0, 200)}` : '';
  return `mail_${e.reason}: ${e.message}${reply}. Fix the mail settings (SMTP_URL, MAIL_FROM), then resume the rollout.`;
}
