/**
 * A real SMTP server on 127.0.0.1 for tests and benches: no TLS, no auth, every message
 * captured (envelope, raw, and — unless `parse: false` — subject / to / html / text parsed
 * with mailparser), with scripted faults:
 *
 *   transient   reply 451 (or `code`) to the first N attempts, for all recipients or for each
 *               listed recipient, at RCPT TO (default) or after DATA
 *   reject      reply 550 (or `code`) to RCPT TO for the listed recipients, always
 *   refuseConnections  greet the first N connections with 421 and hang up
 *   delayMs     wait before answering each DATA
 *   rejectSender   reply 550 (or `code`) to MAIL FROM: the server refuses the sender
 *
 * Faults can be changed at any time with setFaults(); reset() clears messages and counters.
 */
import type { Readable } from 'node:stream';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface SinkFaults {
  transient?: { count: number; recipients?: string[]; code?: number; stage?: 'rcpt' | 'data'; message?: string };
  reject?: { recipients: string[]; code?: number; message?: string };
  refuseConnections?: number;
  delayMs?: number;
  rejectSender?: { code?: number; message?: string };
}

export interface SmtpSinkOptions {
  faults?: SinkFaults;
  /** Parse each message with mailparser (default true; off for benches). */
  parse?: boolean;
  /** Keep each message (default true; off for benches: only counters move). */
  capture?: boolean;
  /** Called with every message received (also with `capture: false`): for callers that keep only what they need. */
  onMessage?: (m: { envelope: { from: string; to: string[] }; raw: Buffer }) => void;
  /** Called at every MAIL FROM, when a message starts: the moment a sender began, before DATA's round trips. */
  onMailFrom?: (from: string) => void;
  /** Listen on this port (default: any free one): to stop a sink and start it again where clients look for it. */
  port?: number;
}

export interface CapturedMessage {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  sessionId: string;
  /** Parsed fields (undefined with `parse: false`). */
  subject?: string;
  to?: string;
  toAddresses?: string[];
  messageId?: string;
  html?: string;
  text?: string;
  headers?: Map<string, unknown>;
}

export interface SinkStats {
  connections: number;
  refusedConnections: number;
  openConnections: number;
  maxOpenConnections: number;
  rcptAttempts: number;
  transientReplies: number;
  rejectedReplies: number;
  received: number;
}

export interface SmtpSink {
  port: number;
  url: string;
  messages: CapturedMessage[];
  stats: SinkStats;
  setFaults(faults: SinkFaults): void;
  reset(): void;
  /** Resolves once `count` messages were received (or rejects after timeoutMs). */
  waitForMessages(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function addressesOf(to: AddressObject | AddressObject[] | undefined): string[] {
  if (!to) return [];
  const list = Array.isArray(to) ? to : [to];
  return list.flatMap((a) => a.value.map((v) => v.address ?? '')).filter(Boolean);
}

function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const parse = opts.parse ?? true;
  const capture = opts.capture ?? true;
  let faults: SinkFaults = opts.faults ?? {};
  let transientSeen = 0; // attempts counted against faults.transient (global)
  const transientPerRecipient = new Map<string, number>();
  const messages: CapturedMessage[] = [];
  const stats: SinkStats = {
    connections: 0, refusedConnections: 0, openConnections: 0, maxOpenConnections: 0,
    rcptAttempts: 0, transientReplies: 0, rejectedReplies: 0, received: 0,
  };
  const open = new Set<string>();
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());

  /** true when this attempt (for this recipient) must get a transient reply. */
  const transientHit = (recipients: string[]): boolean => {
    const t = faults.transient;
    if (!t || t.count <= 0) return false;
    if (!t.recipients) {
      if (transientSeen >= t.count) return false;
      transientSeen++;
      return true;
    }
    const listed = recipients.map((r) => r.toLowerCase()).filter((r) => t.recipients!.some((x) => x.toLowerCase() === r));
    let hit = false;
    for (const r of listed) {
      const n = transientPerRecipient.get(r) ?? 0;
      if (n < t.count) {
        transientPerRecipient.set(r, n + 1);
        hit = true;
      }
    }
    return hit;
  };

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    closeTimeout: 200,
    disableReverseLookup: true,
    onConnect(session, cb) {
      stats.connections++;
      if ((faults.refuseConnections ?? 0) > stats.refusedConnections) {
        stats.refusedConnections++;
        return cb(smtpError(421, 'Too many connections, try again later'));
      }
      open.add(session.id);
      stats.openConnections++;
      stats.maxOpenConnections = Math.max(stats.maxOpenConnections, stats.openConnections);
      cb();
    },
    onClose(session: SMTPServerSession) {
      // onClose also runs for refused connections; count only the ones onConnect let in
      if (open.delete(session.id)) stats.openConnections--;
    },
    onMailFrom(address, _session, cb) {
      opts.onMailFrom?.(address.address);
      const f = faults.rejectSender;
      if (f) return cb(smtpError(f.code ?? 550, f.message ?? '5.7.1 Sender address rejected: not owned by user'));
      cb();
    },
    onRcptTo(address, _session, cb) {
      stats.rcptAttempts++;
      const rcpt = address.address.toLowerCase();
      const r = faults.reject;
      if (r && r.recipients.some((x) => x.toLowerCase() === rcpt)) {
        stats.rejectedReplies++;
        return cb(smtpError(r.code ?? 550, r.message ?? '5.1.1 Mailbox does not exist'));
      }
      const t = faults.transient;
      if (t && (t.stage ?? 'rcpt') === 'rcpt' && transientHit([rcpt])) {
        stats.transientReplies++;
        return cb(smtpError(t.code ?? 451, t.message ?? '4.3.0 Temporary local problem, try again later'));
      }
      cb();
    },
    onData(stream: Readable & { sizeExceeded?: boolean }, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => cb(err));
      stream.on('end', () => {
        void (async () => {
          try {
            const to = session.envelope.rcptTo.map((a) => a.address);
            const t = faults.transient;
            if (t && t.stage === 'data' && transientHit(to)) {
              stats.transientReplies++;
              return cb(smtpError(t.code ?? 451, t.message ?? '4.3.0 Temporary local problem, try again later'));
            }
            if (faults.delayMs) await new Promise((r) => setTimeout(r, faults.delayMs));
            opts.onMessage?.({ envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to }, raw: Buffer.concat(chunks) });
            if (capture) {
              const raw = Buffer.concat(chunks);
              const msg: CapturedMessage = {
                envelope: { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to },
                raw,
                sessionId: session.id,
              };
              if (parse) {
                const p = await simpleParser(raw);
                msg.subject = p.subject;
                msg.to = Array.isArray(p.to) ? p.to.map((a) => a.text).join(', ') : p.to?.text;
                msg.toAddresses = addressesOf(p.to);
                msg.messageId = p.messageId;
                msg.html = typeof p.html === 'string' ? p.html : undefined;
                msg.text = p.text;
                msg.headers = p.headers as Map<string, unknown>;
              }
              messages.push(msg);
            }
            stats.received++;
            cb();
            notify();
          } catch (err) {
            cb(err as Error);
          }
        })();
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined); // client resets are not test failures
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('smtp sink did not get a port');
  const port = address.port;

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    stats,
    setFaults(f) {
      faults = f;
      transientSeen = 0;
      transientPerRecipient.clear();
    },
    reset() {
      messages.length = 0;
      transientSeen = 0;
      transientPerRecipient.clear();
      for (const k of Object.keys(stats) as (keyof SinkStats)[]) if (k !== 'openConnections') stats[k] = 0;
    },
    waitForMessages(count, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (stats.received >= count) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`smtp sink: ${stats.received} of ${count} messages after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close() {
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Alias: `const sink = await start()`. */
export const start = startSmtpSink;
