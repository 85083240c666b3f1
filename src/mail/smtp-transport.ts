/**
 * SMTP delivery through a pool of nodemailer SMTP connections (smtp-pool.ts), sending
 * pre-built raw messages (no MIME composition per message). Errors come back as
 * MailSendError, classified.
 */
import { AppError } from '../lib/errors.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { MailSendError, toMailSendError } from './mail-send-error.js';
import { SmtpConnectionPool } from './smtp-pool.js';
import type { MailTransport, OutgoingMail, SendOptions, SendResult } from './types.js';

export interface SmtpTransportOptions {
  /** smtp://user:pass@host:port or smtps://… (query options as nodemailer reads them). */
  url: string;
  /** Connections open at once; default 5. */
  maxConnections?: number;
  /** Messages per connection before it is replaced; default 100. */
  maxMessages?: number;
  /** Provider quota: at most `messages` per `perMs` milliseconds (nodemailer's pool limiter). */
  rateLimit?: { messages: number; perMs?: number };
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  logger?: Logger;
}

export const SMTP_DEFAULTS = Object.freeze({
  maxConnections: 5,
  maxMessages: 100,
  connectionTimeoutMs: 10_000,
  greetingTimeoutMs: 10_000,
  socketTimeoutMs: 30_000,
});

/** A safe description of the SMTP URL for logs: protocol, host and port, no credentials. */
export function describeSmtpUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? ':' + u.port : ''}`;
  } catch {
    return '(invalid SMTP URL)';
  }
}

const LF = Buffer.from('\n');
const CRLF = Buffer.from('\r\n');

export class SmtpMailTransport implements MailTransport {
  readonly kind = 'smtp' as const;
  private readonly pool: SmtpConnectionPool;
  private readonly log: Logger;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;

  constructor(opts: SmtpTransportOptions) {
    if (!/^smtps?:\/\//i.test(opts.url) || !URL.canParse(opts.url)) {
      throw new AppError('config_invalid', 'SMTP_URL must be an smtp:// or smtps:// URL');
    }
    const maxConnections = opts.maxConnections ?? SMTP_DEFAULTS.maxConnections;
    const maxMessages = opts.maxMessages ?? SMTP_DEFAULTS.maxMessages;
    this.log = (opts.logger ?? silentLogger).child({ component: 'mail', transport: 'smtp' });
    try {
      this.pool = new SmtpConnectionPool({
        url: opts.url,
        maxConnections,
        maxMessages,
        ...(opts.rateLimit ? { rateLimit: { messages: opts.rateLimit.messages, perMs: opts.rateLimit.perMs ?? 1000 } } : {}),
        connectionTimeoutMs: opts.connectionTimeoutMs ?? SMTP_DEFAULTS.connectionTimeoutMs,
        greetingTimeoutMs: opts.greetingTimeoutMs ?? SMTP_DEFAULTS.greetingTimeoutMs,
        socketTimeoutMs: opts.socketTimeoutMs ?? SMTP_DEFAULTS.socketTimeoutMs,
      });
    } catch (err) {
      throw new AppError('config_invalid', `SMTP_URL: ${(err as Error).message}`);
    }
    this.log.debug({ server: describeSmtpUrl(opts.url), maxConnections, maxMessages }, 'smtp transport created');
  }

  send(msg: OutgoingMail, opts: SendOptions = {}): Promise<SendResult> {
    if (this.closing) {
      return Promise.reject(new MailSendError('transport_closed', 'mail transport is closed', { permanent: false }));
    }
    const p = this.deliver(msg, opts);
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private async deliver(msg: OutgoingMail, opts: SendOptions): Promise<SendResult> {
    try {
      // as nodemailer does with a raw message: UTF-8 bytes, ending with a line break
      let raw = typeof msg.raw === 'string' ? Buffer.from(msg.raw) : msg.raw;
      const last = raw[raw.length - 1];
      if (last !== 0x0a) raw = Buffer.concat([raw, last === 0x0d ? LF : CRLF]);
      const info = await this.pool.send({ from: msg.envelope.from, to: msg.envelope.to }, raw, opts.signal);
      if (info.rejected.length > 0) {
        // some recipients of a multi-recipient message: delivered to the others, so no retry
        this.log.warn({ messageId: msg.messageId, logId: msg.logId, rejected: info.rejected.length }, 'mail partly rejected');
      }
      this.log.debug({ messageId: msg.messageId, logId: msg.logId }, 'mail sent');
      return { messageId: msg.messageId };
    } catch (err) {
      const e = toMailSendError(err);
      this.log[e.permanent ? 'warn' : 'info'](
        { messageId: msg.messageId, logId: msg.logId, reason: e.reason, responseCode: e.responseCode, enhancedCode: e.enhancedCode, permanent: e.permanent },
        'mail not sent',
      );
      throw e;
    }
  }

  /** Waits for the sends in flight, then closes the pool's connections. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.inFlight]);
      this.pool.close();
      this.log.debug({}, 'smtp transport closed');
    })();
    return this.closing;
  }
}
