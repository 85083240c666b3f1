/**
 * A pool of SMTP connections that sends pre-built raw messages.
 *
 * nodemailer's own pool (`createTransport({ pool: true })`) runs every message through its
 * Mailer, MailComposer and MIME-node streams, even a raw one: about 0.6 ms of CPU for a 20 kB
 * invitation, more than building the message. Here a message goes to nodemailer's
 * SMTPConnection as it is (SMTP, STARTTLS, AUTH, dot-stuffing stay nodemailer's), and the pool
 * around it does what nodemailer's pool does:
 *
 * - at most `maxConnections` connections; one is opened when a message waits and none is free;
 *   a connection is closed after `maxMessages` messages, when the server closes it, or when it
 *   has been idle for `idleTimeoutMs` (default 4 minutes);
 * - a message whose connection fails takes that error, except when a reused connection turns
 *   out to be gone before a byte of the message was written (or a connection closes before
 *   the greeting): then it is queued again, at most 5 times, 50 ms · 2ⁿ apart (≤ 2 s);
 * - a rejected envelope or message (5xx / 4xx other than 421) resets the session (RSET) and
 *   keeps the connection; after a connection failed, new connections wait 100 ms;
 * - optional rate limit: at most `rateLimit.messages` messages started per `rateLimit.perMs`;
 * - an AbortSignal takes a message off the queue, or closes the connection sending it;
 * - close(): idle connections close at once, busy ones after their message; queued messages fail.
 */
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { parseConnectionUrl } from 'nodemailer/lib/shared';
import wellKnown from 'nodemailer/lib/well-known';

export interface SmtpPoolOptions {
  url: string;
  maxConnections: number;
  maxMessages: number;
  rateLimit?: { messages: number; perMs: number };
  connectionTimeoutMs: number;
  greetingTimeoutMs: number;
  socketTimeoutMs: number;
  /** Close a connection idle this long; default 4 minutes (as nodemailer's pool). */
  idleTimeoutMs?: number;
}

export type SmtpSendInfo = SMTPConnection.SentMessageInfo;

type ConnectionOptions = SMTPConnection.Options & { auth?: { user?: string; pass?: string }; forceAuth?: boolean; proxy?: unknown; service?: string };

const MAX_REQUEUES = 5;
const REQUEUE_BASE_DELAY_MS = 50;
const REQUEUE_MAX_DELAY_MS = 2_000;
/** Pause before opening connections again after one failed or was closed. */
const RETRY_PAUSE_MS = 100;

interface Entry {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  requeues: number;
  settled: boolean;
  resolve(info: SmtpSendInfo): void;
  reject(err: unknown): void;
  detach?: () => void;
}

interface PoolConnection {
  conn: SMTPConnection;
  /** messages handed to this connection (sent or failed) */
  messages: number;
  /** connected (and logged in), nothing to send */
  available: boolean;
  sending: boolean;
  closed: boolean;
  /** the message this connection is connecting for or sending */
  entry: Entry | null;
  idleTimer: NodeJS.Timeout | null;
}

/** nodemailer's own test: the error ended the connection rather than refused what was sent. */
function endedConnection(err: { responseCode?: number; code?: string }): boolean {
  return err.responseCode === 421 || err.code === 'ECONNECTION' || err.code === 'ESOCKET' || err.code === 'ETIMEDOUT';
}

function codedError(message: string, code?: string): Error {
  const err = new Error(message) as Error & { code?: string };
  if (code) err.code = code;
  return err;
}

function abortError(signal: AbortSignal): Error {
  const err = new Error('Message sending aborted', { cause: signal.reason }) as Error & { code?: string };
  err.name = 'AbortError';
  err.code = 'EABORT';
  return err;
}

/** The message as a stream, so that "was any of it read?" has an answer (readableDidRead). */
function messageStream(raw: Buffer): Readable {
  const stream = new Readable({ read() {} });
  stream.push(raw);
  stream.push(null);
  return stream;
}

export class SmtpConnectionPool {
  private readonly options: ConnectionOptions;
  private readonly auth: { type: string; user: string; credentials: { user: string; pass: string }; method: string | false } | null;
  private readonly queue: Entry[] = [];
  private readonly connections = new Set<PoolConnection>();
  private closed = false;
  private pausedUntil = 0;
  private wakeTimer: NodeJS.Timeout | null = null;
  private wakeAt = 0;
  private rate = { count: 0, windowStart: 0 };

  constructor(private readonly opts: SmtpPoolOptions) {
    const fromUrl = parseConnectionUrl(opts.url) as ConnectionOptions;
    const service = fromUrl.service ? wellKnown(fromUrl.service) : false;
    if (fromUrl.proxy) throw new Error('an SMTP proxy (proxy= in the URL) is not supported');
    this.options = {
      ...fromUrl,
      ...(service || {}),
      connectionTimeout: opts.connectionTimeoutMs,
      greetingTimeout: opts.greetingTimeoutMs,
      socketTimeout: opts.socketTimeoutMs,
      // nodemailer's own logger would print addresses: keep it off
      logger: false,
      debug: false,
    };
    const a = fromUrl.auth;
    this.auth = a && (a.user || a.pass) ? { type: 'LOGIN', user: a.user ?? '', credentials: { user: a.user ?? '', pass: a.pass ?? '' }, method: false } : null;
  }

  /** Resolves once the server accepted the message; rejects with nodemailer's error otherwise. */
  send(envelope: { from: string; to: string[] }, raw: Buffer, signal?: AbortSignal): Promise<SmtpSendInfo> {
    if (this.closed) return Promise.reject(codedError('Connection pool was closed', 'ECONNECTION'));
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise<SmtpSendInfo>((resolve, reject) => {
      const entry: Entry = { envelope, raw, requeues: 0, settled: false, resolve, reject };
      if (signal) {
        const onAbort = () => this.abort(entry, signal);
        signal.addEventListener('abort', onAbort, { once: true });
        entry.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.queue.push(entry);
      this.pump();
    });
  }

  /** Idle connections close now, busy ones after their message; queued messages fail. */
  close(): void {
    this.closed = true;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeTimer = null;
    for (const pc of [...this.connections]) if (pc.available) this.drop(pc);
    for (const entry of this.queue.splice(0)) this.settle(entry, codedError('Connection pool was closed'));
  }

  // ---------------------------------------------------------------------------------------------

  private settle(entry: Entry, err: unknown, info?: SmtpSendInfo): void {
    if (entry.settled) return;
    entry.settled = true;
    entry.detach?.();
    if (err) entry.reject(err);
    else entry.resolve(info!);
  }

  private abort(entry: Entry, signal: AbortSignal): void {
    if (entry.settled) return;
    const i = this.queue.indexOf(entry);
    if (i !== -1) this.queue.splice(i, 1);
    for (const pc of this.connections) {
      if (pc.entry === entry) {
        pc.entry = null;
        this.drop(pc);
      }
    }
    this.settle(entry, abortError(signal));
    this.pump();
  }

  /** Run pump() again after `ms` (one timer at a time, the earliest wins). */
  private wakeIn(ms: number): void {
    if (this.closed) return;
    const at = Date.now() + Math.max(0, ms);
    if (this.wakeTimer && this.wakeAt <= at) return;
    if (this.wakeTimer) clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = null;
      this.pump();
    }, Math.max(0, ms));
  }

  /** Whether one more message may start now (the optional rate limit); if not, wakes up later. */
  private takeRate(): boolean {
    const limit = this.opts.rateLimit;
    if (!limit || !(limit.messages > 0)) return true;
    const now = Date.now();
    if (now - this.rate.windowStart >= limit.perMs) this.rate = { count: 0, windowStart: now };
    if (this.rate.count < limit.messages) {
      this.rate.count++;
      return true;
    }
    this.wakeIn(this.rate.windowStart + limit.perMs - now);
    return false;
  }

  /** Hands queued messages to free connections, opening connections up to the limit. */
  private pump(): void {
    while (!this.closed && this.queue.length > 0) {
      let free: PoolConnection | null = null;
      for (const pc of this.connections) {
        if (pc.available) {
          free = pc;
          break;
        }
      }
      if (!free) {
        if (this.connections.size >= this.opts.maxConnections) return;
        const wait = this.pausedUntil - Date.now();
        if (wait > 0) return this.wakeIn(wait);
      }
      if (!this.takeRate()) return;
      const entry = this.queue.shift()!;
      if (free) this.deliver(free, entry);
      else this.open(entry);
    }
  }

  /** A new connection, opened for `entry`. */
  private open(entry: Entry): void {
    const conn = new SMTPConnection(this.options);
    const pc: PoolConnection = { conn, messages: 0, available: false, sending: false, closed: false, entry, idleTimer: null };
    this.connections.add(pc);
    let ready = false;
    conn.on('error', (err) => {
      // a send in flight gets this error in its callback and decides there
      if (pc.closed || pc.sending) return;
      // the server ended a connection with nothing in flight; 'end' follows
      if (ready && endedConnection(err)) return;
      this.fail(pc, err);
    });
    conn.once('end', () => this.ended(pc));
    conn.connect((err) => {
      if (pc.closed) return;
      // closed before the greeting: 'end' follows and queues the message again
      if (err) return;
      const start = () => {
        ready = true;
        const next = pc.entry;
        if (next) this.deliver(pc, next);
        else this.release(pc);
      };
      const allowsAuth = (conn as unknown as { allowsAuth?: boolean }).allowsAuth === true;
      if (this.auth && (allowsAuth || this.options.forceAuth)) {
        conn.login(this.auth as unknown as SMTPConnection.AuthenticationCredentials, (loginErr) => {
          if (pc.closed) return;
          if (loginErr) return this.fail(pc, loginErr);
          start();
        });
      } else if (!this.auth && allowsAuth && this.options.forceAuth) {
        this.fail(pc, codedError('Authentication info was not provided', 'ENOAUTH'));
      } else {
        start();
      }
    });
  }

  private deliver(pc: PoolConnection, entry: Entry): void {
    pc.available = false;
    pc.entry = entry;
    if (pc.idleTimer) clearTimeout(pc.idleTimer);
    pc.idleTimer = null;
    pc.sending = true;
    const reused = pc.messages > 0;
    const stream = messageStream(entry.raw);
    pc.conn.send(entry.envelope, stream, (err, info) => {
      pc.sending = false;
      pc.messages++;
      // aborted meanwhile: the connection is being closed
      if (pc.entry !== entry) return;
      if (!err) {
        pc.entry = null;
        this.settle(entry, null, info);
        setImmediate(() => this.release(pc));
        return;
      }
      if (reused && !stream.readableDidRead && endedConnection(err)) {
        // the server had closed this connection: nothing of the message went out, it goes again
        pc.conn.close();
        return;
      }
      pc.entry = null;
      if ((err.code === 'EENVELOPE' || err.code === 'EMESSAGE') && err.responseCode !== 421 && !pc.closed) {
        // the server refused this message, the session is fine: reset it and go on
        this.settle(entry, err);
        pc.conn.reset((resetErr) => {
          if (resetErr) return this.drop(pc);
          this.release(pc);
        });
        return;
      }
      this.drop(pc);
      this.settle(entry, err);
      this.pausedUntil = Date.now() + RETRY_PAUSE_MS;
      this.pump();
    });
  }

  /** After a message: free for the next one, or closed when it has sent its share (or the pool closes). */
  private release(pc: PoolConnection): void {
    if (pc.closed) return;
    if (this.closed || pc.messages >= this.opts.maxMessages) {
      this.drop(pc);
      this.pump();
      return;
    }
    pc.available = true;
    const idle = this.opts.idleTimeoutMs ?? 4 * 60_000;
    if (idle > 0) {
      pc.idleTimer = setTimeout(() => {
        if (!pc.available) return;
        pc.available = false;
        pc.conn.quit();
      }, idle);
      pc.idleTimer.unref();
    }
    this.pump();
  }

  /** Connecting, logging in, or an idle connection failed: its message (if any) takes the error. */
  private fail(pc: PoolConnection, err: unknown): void {
    if (pc.closed) return;
    const entry = pc.entry;
    pc.entry = null;
    this.drop(pc);
    if (entry) this.settle(entry, err);
    this.pausedUntil = Date.now() + RETRY_PAUSE_MS;
    this.wakeIn(RETRY_PAUSE_MS);
  }

  /** Out of the pool and closed (its message, if still attached, is queued again by `ended`). */
  private drop(pc: PoolConnection): void {
    if (pc.closed) return;
    pc.closed = true;
    pc.available = false;
    if (pc.idleTimer) clearTimeout(pc.idleTimer);
    pc.idleTimer = null;
    this.connections.delete(pc);
    pc.conn.close();
  }

  /** The connection is gone. A message still attached goes back to the queue (bounded), else fails. */
  private ended(pc: PoolConnection): void {
    const wasOpen = !pc.closed;
    pc.closed = true;
    pc.available = false;
    if (pc.idleTimer) clearTimeout(pc.idleTimer);
    pc.idleTimer = null;
    this.connections.delete(pc);
    const entry = pc.entry;
    if (!entry) {
      if (wasOpen) this.wakeIn(RETRY_PAUSE_MS);
      return;
    }
    // a send callback in flight may still settle it: look again in a moment
    setTimeout(() => {
      if (pc.entry !== entry || entry.settled) return this.wakeIn(RETRY_PAUSE_MS);
      pc.entry = null;
      if (!this.closed && entry.requeues < MAX_REQUEUES) {
        const delay = Math.min(REQUEUE_BASE_DELAY_MS * 2 ** entry.requeues, REQUEUE_MAX_DELAY_MS);
        entry.requeues++;
        this.queue.unshift(entry);
        this.wakeIn(delay);
      } else {
        this.settle(entry, codedError('Reached maximum number of retries after connection was closed', 'ECONNECTION'));
        this.wakeIn(RETRY_PAUSE_MS);
      }
    }, 50).unref();
  }
}
