/**
 * SMTP delivery through nodemailer's connection pool, sending pre-built raw messages (no
 * MIME composition per message). Errors come back as MailSendError, classified.
 */
import nodemailer from 'nodemailer';
import { AppError } from '../lib/errors.js';
import { silentLogger, type Logger } from '../lib/logger.js';
import { MailSendError, toMailSendError } from './mail-send-error.js';
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

export class SmtpMailTransport implements MailTransport {
  readonly kind = 'smtp' as const;
  private readonly transporter: ReturnType<typeof nodemailer.createTransport>;
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
    this.transporter = nodemailer.createTransport({
      url: opts.url,
      pool: true,
      maxConnections,
      maxMessages,
      ...(opts.rateLimit ? { rateLimit: opts.rateLimit.messages, rateDelta: opts.rateLimit.perMs ?? 1000 } : {}),
      connectionTimeout: opts.connectionTimeoutMs ?? SMTP_DEFAULTS.connectionTimeoutMs,
      greetingTimeout: opts.greetingTimeoutMs ?? SMTP_DEFAULTS.greetingTimeoutMs,
      socketTimeout: opts.socketTimeoutMs ?? SMTP_DEFAULTS.socketTimeoutMs,
      // nodemailer's own logger would print addresses: keep it off
      logger: false,
      debug: false,
    });
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
      const info = await this.transporter.sendMail({
        envelope: { from: msg.envelope.from, to: msg.envelope.to },
        raw: msg.raw,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
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
      this.transporter.close();
      this.log.debug({}, 'smtp transport closed');
    })();
    return this.closing;
  }
}
