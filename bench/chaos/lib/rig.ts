/**
 * The rig the worker-kill and Redis-restart chaos scenarios share: a database of its own
 * (test/support/store.ts), a private redis-server that may be killed and restarted, a real
 * SMTP server (smtp-server, test/support/smtp-sink.ts) that keeps per recipient only how many
 * messages arrived and the SHA-256 of the link tokens they carried, file connectors on HR
 * exports in a temp directory, an in-process app context (syncs to create users, rollouts, the
 * sync queue's producer), and `hrsync start --role worker` processes spawned the way
 * test/support/cli.ts does. Everything is on 127.0.0.1.
 */
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createContext, type AppContext } from '../../../src/app/context.js';
import { loadConfig } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/lib/logger.js';
import { spawnCli } from '../../../test/support/cli.js';
import { startPrivateRedis, testPrefix } from '../../../test/support/redis.js';
import { startSmtpSink, type SmtpSink } from '../../../test/support/smtp-sink.js';
import { createTestStore, tempDir, toCsv, type Row, type TestStore } from '../../../test/support/store.js';

export const ORG = 'chaos';

export interface RigConnector {
  id: string;
  rows: Array<Partial<Row>>;
}

/** What the SMTP server received: per recipient, how many messages and which token hashes. */
export class MailLog {
  readonly byRecipient = new Map<string, { count: number; hashes: Set<string> }>();
  /** arrival times (ms since epoch), in order */
  readonly times: number[] = [];
  total = 0;
  noToken = 0;

  record(to: string, raw: Buffer): void {
    const at = Date.now();
    this.total++;
    this.times.push(at);
    const hash = tokenHashOf(raw);
    if (!hash) this.noToken++;
    const key = to.toLowerCase();
    let r = this.byRecipient.get(key);
    if (!r) this.byRecipient.set(key, (r = { count: 0, hashes: new Set() }));
    r.count++;
    if (hash) r.hashes.add(hash);
  }

  /** The first arrival at or after `t` (ms), or null. */
  firstAfter(t: number): number | null {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.times.length ? this.times[lo]! : null;
  }

  reset(): void {
    this.byRecipient.clear();
    this.times.length = 0;
    this.total = 0;
    this.noToken = 0;
  }
}

/**
 * The accept link's token, hashed as the store hashes it (the token itself is never kept). The
 * text part is quoted-printable: soft line breaks and =XX triplets are undone first.
 */
export function tokenHashOf(raw: Buffer): string | null {
  const decoded = raw
    .toString('latin1')
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  const m = /invite\/accept\?token=([A-Za-z0-9_-]{20,})/.exec(decoded);
  return m ? createHash('sha256').update(decodeURIComponent(m[1]!)).digest('hex') : null;
}

export interface WorkerProc {
  pid: number;
  spawnedAt: number;
  /** ms from spawn to "is running" */
  startMs: number;
  kill(signal: NodeJS.Signals): Promise<void>;
  stderr(): string;
}

export interface Rig {
  store: TestStore;
  ctx: AppContext;
  redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  sink: SmtpSink;
  mail: MailLog;
  /** the environment a worker process gets */
  env: Record<string, string>;
  exportPath(connectorId: string): string;
  writeExport(connectorId: string, rows: Array<Partial<Row>>): void;
  spawnWorker(): Promise<WorkerProc>;
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface RigOptions {
  connectors: RigConnector[];
  /** invitations.reconcileEverySeconds in the config file (the product's default is 30) */
  reconcileEverySeconds: number;
  /** QUEUE_LOCK_MS for the workers (the product's default is 30000) */
  queueLockMs: number;
  /** further environment for the workers (INVITE_CONCURRENCY, …) */
  env?: Record<string, string>;
}

/** Builds the rig; on failure half way, whatever was started is stopped again. */
export async function openRig(opts: RigOptions): Promise<Rig> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  const workers = new Set<WorkerProc>();
  const closeAll = async () => {
    for (const w of workers) await w.kill('SIGKILL').catch(() => {});
    for (const c of cleanups.reverse()) await Promise.resolve().then(c).catch(() => {});
  };
  try {
    const dir = tempDir('hrsync-chaos-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const mail = new MailLog();
    const sink = await startSmtpSink({ parse: false, capture: false, onMessage: (m) => mail.record(m.envelope.to[0] ?? '', m.raw) });
    cleanups.push(() => sink.close());
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const store = await createTestStore();
    cleanups.push(() => store.drop());

    const paths = new Map<string, string>();
    for (const c of opts.connectors) {
      const p = join(dir, `${c.id}.csv`);
      writeFileSync(p, toCsv(c.rows));
      paths.set(c.id, p);
    }
    const configPath = join(dir, 'hrsync.config.yaml');
    writeFileSync(
      configPath,
      stringify({
        organizations: [
          {
            id: ORG,
            name: 'Chaos GmbH',
            connectors: opts.connectors.map((c) => ({ id: c.id, type: 'file', options: { path: paths.get(c.id) }, deactivation: { maxPercent: 100 } })),
          },
        ],
        invitations: { reconcileEverySeconds: opts.reconcileEverySeconds },
      }),
    );
    const env: Record<string, string> = {
      HRSYNC_CONFIG: configPath,
      DATABASE_URL: store.url,
      REDIS_URL: redis.url,
      HRSYNC_QUEUE_PREFIX: testPrefix(),
      SMTP_URL: sink.url,
      APP_URL: 'http://hrsync.test',
      OUTBOX_DIR: join(dir, 'outbox'),
      INVITE_RATE_PER_SECOND: '0',
      QUEUE_LOCK_MS: String(opts.queueLockMs),
      SHUTDOWN_GRACE_MS: '5000',
      LOG_LEVEL: 'warn',
      ...opts.env,
    };
    const ctx = await createContext({ config: loadConfig({ ...env, LOG_LEVEL: 'silent' }, dir), log: silentLogger });
    cleanups.push(() => ctx.close());

    const rig: Rig = {
      store,
      ctx,
      redis,
      sink,
      mail,
      env,
      exportPath: (id) => paths.get(id)!,
      writeExport(id, rows) {
        writeFileSync(paths.get(id)!, toCsv(rows));
      },
      async spawnWorker() {
        const spawnedAt = Date.now();
        const p = spawnCli(['start', '--role', 'worker'], env);
        let exited = false;
        void p.exited.then(() => (exited = true));
        const w: WorkerProc = {
          pid: p.child.pid!,
          spawnedAt,
          startMs: 0,
          stderr: p.stderr,
          async kill(signal) {
            if (!exited) p.child.kill(signal);
            await p.exited;
            workers.delete(w);
          },
        };
        workers.add(w);
        await p.waitFor('is running', 90_000);
        w.startMs = Date.now() - spawnedAt;
        return w;
      },
      query: (text, params) => store.query(text, params),
      close: closeAll,
    };
    return rig;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** A small seeded PRNG (mulberry32), so a run's random moments can be replayed with CHAOS_SEED. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function seedFromEnv(): number {
  const s = Number(process.env.CHAOS_SEED);
  return Number.isFinite(s) && s > 0 ? s : Math.floor(Math.random() * 2 ** 31) + 1;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy, or throws after `timeoutMs`. */
export async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs: number, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(stepMs);
  }
}

export const secondsSince = (t: number) => Math.round((Date.now() - t) / 10) / 100;
export const round2 = (x: number) => Math.round(x * 100) / 100;
