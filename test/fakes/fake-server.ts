import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * Base of the fake vendor servers: a real node:http server on 127.0.0.1 (port 0) that
 * records and counts requests and plays scripted faults before the vendor logic answers.
 */

export interface FakeRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** Parsed JSON (or form) body; undefined when empty. */
  body: unknown;
  rawBody: string;
}

export interface FakeReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Fault =
  /** Answer with this status (e.g. 429 with Retry-After, 500, 503) instead of the real answer. */
  | { kind: 'status'; status: number; retryAfter?: string; body?: unknown }
  /** Wait before answering normally. */
  | { kind: 'delay'; ms: number }
  /** 200 with a body that is not valid JSON (a page cut short by a proxy). */
  | { kind: 'malformed'; body?: string }
  /** 200 with valid JSON of the wrong shape. */
  | { kind: 'wrong-shape'; body: unknown }
  /** Destroy the connection before any byte of the response. */
  | { kind: 'destroy' }
  /** Send the headers and half of the real body, then destroy the connection. */
  | { kind: 'cut' }
  /** Run a side effect (e.g. expire tokens), then answer normally. */
  | { kind: 'hook'; run: (req: FakeRequest) => void }
  /**
   * Answer normally, but send the body slowly: the headers at once, then the body in `chunks`
   * pieces spread over `ms` (a slow-loris vendor or a congested link). Each piece resets a
   * socket idle timeout, so only a deadline on the whole attempt stops it.
   */
  | { kind: 'trickle'; ms: number; chunks?: number }
  /**
   * 200 with the real body cut at `fraction` (default 0.6) and correct framing (Content-Length of
   * what is sent): complete at the HTTP level, not valid JSON (a proxy that truncated the page).
   */
  | { kind: 'truncate'; fraction?: number }
  /** Answer with a changed version of the real answer (a short page, records of another shape, …). */
  | { kind: 'transform'; run: (reply: FakeReply, req: FakeRequest) => FakeReply };

/**
 * A fault schedule consulted for every request that no scripted fault matched: the fault to
 * play for this request (its 0-based index among all requests of the server), or null.
 * test/fakes/chaos.ts builds seeded ones (storms, bursts, random mixes).
 */
export type FaultSchedule = (req: FakeRequest, index: number) => Fault | null | undefined;

interface Scripted {
  fault: Fault;
  remaining: number;
  when: (req: FakeRequest) => boolean;
}

export abstract class FakeServer {
  readonly requests: FakeRequest[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private script_: Scripted[] = [];
  private schedule_: FaultSchedule | null = null;
  private url_ = '';
  /** Faults played so far (scripted and scheduled), by kind (`status` as `status 429`, …). */
  readonly injected: Record<string, number> = {};

  constructor() {
    this.server = createServer((req, res) => {
      void this.dispatch(req, res);
    });
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  /** Answers a request the way the vendor documents it. */
  protected abstract handle(req: FakeRequest): FakeReply | Promise<FakeReply>;

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url_ = `http://127.0.0.1:${port}`;
    return this.url_;
  }

  get url(): string {
    return this.url_;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Plays `fault` for the next `times` requests matching `when` (default: any request). */
  script(fault: Fault, opts: { times?: number; when?: (req: FakeRequest) => boolean } = {}): this {
    this.script_.push({ fault, remaining: opts.times ?? 1, when: opts.when ?? (() => true) });
    return this;
  }

  clearScript(): void {
    this.script_ = [];
  }

  /** Consults `schedule` for every request no scripted fault matches (null: no schedule). */
  chaos(schedule: FaultSchedule | null): this {
    this.schedule_ = schedule;
    return this;
  }

  /** How many faults were played (scripted and scheduled). */
  get faultCount(): number {
    return Object.values(this.injected).reduce((a, b) => a + b, 0);
  }

  /** Forgets recorded requests and fault counts (between runs of one scenario). */
  resetCounters(): void {
    this.requests.length = 0;
    for (const k of Object.keys(this.injected)) delete this.injected[k];
  }

  get count(): number {
    return this.requests.length;
  }

  countWhere(pred: (req: FakeRequest) => boolean): number {
    return this.requests.filter(pred).length;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const fr: FakeRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: parseBody(rawBody, req.headers['content-type']),
      rawBody,
    };
    const index = this.requests.length;
    this.requests.push(fr);

    try {
      let cut = false;
      let post: Extract<Fault, { kind: 'trickle' | 'truncate' | 'transform' }> | null = null;
      const s = this.script_.find((x) => x.remaining > 0 && x.when(fr));
      if (s) s.remaining--;
      const f = s ? s.fault : (this.schedule_?.(fr, index) ?? null);
      if (f) {
        const label = f.kind === 'status' ? `status ${f.status}` : f.kind;
        this.injected[label] = (this.injected[label] ?? 0) + 1;
        switch (f.kind) {
          case 'status':
            return send(res, { status: f.status, body: f.body ?? { error: `scripted ${f.status}` }, headers: f.retryAfter !== undefined ? { 'Retry-After': f.retryAfter } : {} });
          case 'delay':
            await sleep(f.ms);
            break;
          case 'malformed':
            res.writeHead(200, { 'Content-Type': 'application/json' });
            res.end(f.body ?? '{"data": [{"fields": {"eeid": "1"');
            return;
          case 'wrong-shape':
            return send(res, { status: 200, body: f.body });
          case 'destroy':
            req.socket.destroy();
            return;
          case 'cut':
            cut = true;
            break;
          case 'hook':
            f.run(fr);
            break;
          case 'trickle':
          case 'truncate':
          case 'transform':
            post = f;
            break;
        }
      }
      let reply = await this.handle(fr);
      if (post?.kind === 'transform') reply = post.run(reply, fr);
      if (post?.kind === 'truncate') {
        const text = JSON.stringify(reply.body ?? null);
        const cutText = text.slice(0, Math.max(1, Math.floor(text.length * (post.fraction ?? 0.6))));
        res.writeHead(200, { ...reply.headers, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(cutText)) });
        res.end(cutText);
        return;
      }
      if (post?.kind === 'trickle') return trickle(res, reply, post.ms, post.chunks ?? 20);
      if (cut) {
        const text = JSON.stringify(reply.body ?? null);
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) });
        res.write(text.slice(0, Math.max(1, Math.floor(text.length / 2))));
        setTimeout(() => req.socket.destroy(), 5);
        return;
      }
      send(res, reply);
    } catch (err) {
      send(res, { status: 500, body: { error: String(err) } });
    }
  }
}

function send(res: ServerResponse, reply: FakeReply): void {
  if (res.headersSent || res.destroyed) return;
  const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    ...(body ? { 'Content-Type': 'application/json' } : {}),
    ...reply.headers,
  });
  res.end(body);
}

/** Sends `reply` with its headers at once and its body in `chunks` pieces spread over `ms`. */
function trickle(res: ServerResponse, reply: FakeReply, ms: number, chunks: number): void {
  const body = Buffer.from(reply.body === undefined ? '' : JSON.stringify(reply.body));
  res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': String(body.length), ...reply.headers });
  const n = Math.max(1, Math.min(chunks, body.length));
  const size = Math.ceil(body.length / n);
  let i = 0;
  const timer = setInterval(() => {
    if (res.destroyed) {
      clearInterval(timer);
      return;
    }
    const piece = body.subarray(i * size, (i + 1) * size);
    i++;
    if (i >= n) {
      clearInterval(timer);
      res.end(piece);
    } else res.write(piece);
  }, Math.max(1, Math.floor(ms / n)));
  res.on('close', () => clearInterval(timer));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (!raw) return undefined;
  if ((contentType ?? '').includes('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The decoded HTTP Basic credentials of a request, or null. */
export function basicCredentials(req: FakeRequest): { user: string; password: string } | null {
  const h = req.headers.authorization;
  const m = /^Basic\s+(\S+)$/i.exec(h ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}
