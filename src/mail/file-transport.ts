/**
 * The file outbox: one .eml file per message, written atomically (temp file + rename) so a
 * reader never sees half a message. The default when no SMTP_URL is configured.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { silentLogger, type Logger } from '../lib/logger.js';
import { MailSendError } from './mail-send-error.js';
import type { MailTransport, OutgoingMail, SendOptions, SendResult } from './types.js';

export interface FileTransportOptions {
  dir: string;
  logger?: Logger;
}

/** "20251126T162400123Z-<message id, file-safe>.eml"; sorts by time. */
export function outboxFileName(messageId: string, at: Date = new Date()): string {
  const stamp = at.toISOString().replace(/[-:.]/g, '');
  const id = messageId.replace(/^<|>$/g, '').replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 150);
  return `${stamp}-${id}.eml`;
}

export class FileMailTransport implements MailTransport {
  readonly kind = 'file' as const;
  readonly dir: string;
  private readonly log: Logger;
  private ready: Promise<unknown> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closing: Promise<void> | null = null;

  constructor(opts: FileTransportOptions) {
    this.dir = resolve(opts.dir);
    this.log = (opts.logger ?? silentLogger).child({ component: 'mail', transport: 'file' });
  }

  send(msg: OutgoingMail, opts: SendOptions = {}): Promise<SendResult> {
    if (this.closing) {
      return Promise.reject(new MailSendError('transport_closed', 'mail transport is closed', { permanent: false }));
    }
    const p = this.write(msg, opts);
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private async write(msg: OutgoingMail, opts: SendOptions): Promise<SendResult> {
    opts.signal?.throwIfAborted();
    const name = outboxFileName(msg.messageId);
    const final = join(this.dir, name);
    const temp = join(this.dir, `.${name}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      this.ready ??= mkdir(this.dir, { recursive: true });
      await this.ready;
      await writeFile(temp, msg.raw, { flag: 'wx' });
      await rename(temp, final);
    } catch (err) {
      this.ready = null;
      await rm(temp, { force: true }).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code ?? null;
      this.log.error({ messageId: msg.messageId, logId: msg.logId, code }, 'outbox write failed');
      throw new MailSendError('io_error', `outbox write failed${code ? ` (${code})` : ''}`, { permanent: false, transportCode: code });
    }
    this.log.info({ messageId: msg.messageId, logId: msg.logId, file: name }, 'mail written to outbox');
    return { messageId: msg.messageId };
  }

  close(): Promise<void> {
    this.closing ??= Promise.allSettled([...this.inFlight]).then(() => undefined);
    return this.closing;
  }
}
