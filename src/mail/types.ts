/** A fully built message, ready for any MailTransport. */
export interface OutgoingMail {
  /** `<id@domain>`, the same as the Message-ID header in `raw`. */
  messageId: string;
  /** SMTP envelope: bounce address and recipients (normalized, ASCII). */
  envelope: { from: string; to: string[] };
  /** The RFC 5322 message: CRLF line endings, 7-bit clean. */
  raw: string | Buffer;
  /** An id safe to log (e.g. the invitation id); addresses never are. */
  logId?: string;
}

export interface SendResult {
  messageId: string;
}

export interface SendOptions {
  /** Abort a send that has not been handed to the server yet. */
  signal?: AbortSignal;
}

export type MailTransportKind = 'smtp' | 'file';

/**
 * Where invitation e-mails go. send() resolves once the message is accepted (by the SMTP
 * server / on disk) and rejects with a MailSendError whose `permanent` flag says whether a
 * retry can help. Safe to call concurrently: the SMTP transport spreads concurrent sends
 * over its connection pool.
 */
export interface MailTransport {
  readonly kind: MailTransportKind;
  send(msg: OutgoingMail, opts?: SendOptions): Promise<SendResult>;
  /** Waits for sends in flight, then releases connections. Sends after close() fail (transient). */
  close(): Promise<void>;
}
