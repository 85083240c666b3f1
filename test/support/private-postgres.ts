import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { EntityManager } from '@mikro-orm/postgresql';
import { openStore, type Orm } from '../../src/db/orm.js';

/**
 * A private PostgreSQL cluster for one test or chaos scenario: its own data directory,
 * socket directory and port on 127.0.0.1, so that it can be restarted, stopped or crashed
 * without touching the machine's shared server on 5432 (other people's tests use that one).
 *
 * We run as root and initdb/pg_ctl refuse root, so they run as the `postgres` OS user
 * (`runuser`) on a temp directory chowned to it. The cluster trusts local connections
 * (user `postgres`, no password) and keeps nothing safe on disk (`fsync=off`): it is
 * thrown away afterwards.
 */
export interface PrivatePostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`: the admin URL of the cluster */
  url: string;
  port: number;
  dataDir: string;
  /** The URL of database `name` in this cluster. */
  databaseUrl(name: string): string;
  /**
   * Stops the server (`fast`: clients are disconnected, a clean shutdown; `immediate`:
   * like a crash, recovery on start), waits `downMs`, starts it again. Resolves once it
   * accepts connections. Returns the moments the stop began and the server was back.
   */
  restart(opts?: { mode?: 'fast' | 'immediate'; downMs?: number }): Promise<{ stoppedAt: number; upAt: number }>;
  /** Stops the server (it can be started again). */
  stopServer(mode?: 'fast' | 'immediate'): Promise<void>;
  startServer(): Promise<void>;
  /** Starts the server unless it is running (after a test that stopped it failed part way). */
  ensureStarted(): Promise<void>;
  /** Stops the server for good and removes its directory. */
  stop(): Promise<void>;
}

const PG_ROOT = '/usr/lib/postgresql';

/** The newest installed PostgreSQL's bin directory (e.g. /usr/lib/postgresql/15/bin). */
export function postgresBinDir(): string {
  if (process.env.PG_BIN_DIR) return process.env.PG_BIN_DIR;
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error(`no PostgreSQL server binaries under ${PG_ROOT} (set PG_BIN_DIR)`);
  return join(PG_ROOT, versions[0], 'bin');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function asPostgres(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ stdout: string; stderr: string }> {
  // runuser only when we are root; as any other user, run the tool directly.
  const [file, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) => {
    execFile(file, argv, { timeout: timeoutMs, env: { PATH: process.env.PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.slice(0, 2).join(' ')} failed: ${(stderr || err.message).trim().slice(-800)}`));
      else resolve({ stdout, stderr });
    });
  });
}

const live = new Set<{ dir: string; dataDir: string; pgCtl: string }>();
let exitHook = false;

/** If the process dies before stop(), do not leave a server running or its directory behind. */
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.once('exit', () => {
    for (const c of live) {
      const args = ['-D', c.dataDir, '-m', 'immediate', 'stop'];
      if (process.getuid?.() === 0) spawnSync('runuser', ['-u', 'postgres', '--', c.pgCtl, ...args], { stdio: 'ignore', timeout: 10_000 });
      else spawnSync(c.pgCtl, args, { stdio: 'ignore', timeout: 10_000 });
      rmSync(c.dir, { recursive: true, force: true });
    }
  });
}

export async function startPrivatePostgres(opts: { settings?: Record<string, string> } = {}): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const pgCtl = join(bin, 'pg_ctl');
  const dir = mkdtempSync(join(tmpdir(), 'hrsync-pg-'));
  const dataDir = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  const entry = { dir, dataDir, pgCtl };
  live.add(entry);
  installExitHook();
  try {
    await asPostgres(join(bin, 'initdb'), ['-D', dataDir, '--auth=trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  } catch (err) {
    live.delete(entry);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let port = 0;
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '100',
    ...opts.settings,
  };
  const serverOptions = () => [`-p ${port}`, `-k ${dir}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  const startServer = async () => {
    await asPostgres(pgCtl, ['-D', dataDir, '-l', join(dir, 'server.log'), '-o', serverOptions(), '-w', '-t', '60', 'start']);
  };
  // Stopping signals the postmaster directly (what `pg_ctl stop -m fast|immediate` does:
  // SIGINT / SIGQUIT), so that a fault lands the moment it is asked for, then waits for it to exit.
  const stopServer = async (mode: 'fast' | 'immediate' = 'fast') => {
    const pid = postmasterPid(dataDir);
    if (pid === null) return;
    try {
      process.kill(pid, mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
    } catch {
      return; // already gone
    }
    const end = Date.now() + 60_000;
    while (alive(pid)) {
      if (Date.now() > end) throw new Error(`PostgreSQL (pid ${pid}) did not stop within 60 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  // A free port can be taken between choosing and binding it: try a few.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await startServer();
      break;
    } catch (err) {
      if (attempt >= 4) {
        live.delete(entry);
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    dataDir,
    databaseUrl(name: string) {
      return `postgres://postgres@127.0.0.1:${port}/${encodeURIComponent(name)}`;
    },
    async restart(o = {}) {
      const stoppedAt = Date.now();
      await stopServer(o.mode ?? 'fast');
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await startServer();
      return { stoppedAt, upAt: Date.now() };
    },
    stopServer,
    startServer,
    async ensureStarted() {
      const pid = postmasterPid(dataDir);
      if (pid !== null && alive(pid)) return;
      await startServer();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopServer('immediate').catch(() => {});
      live.delete(entry);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postmasterPid(dataDir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Running, and not merely a zombie waiting for whoever adopted it (pg_ctl exits after starting the server) to reap it. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function postgresIds(): { uid: number; gid: number } {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  const uid = Number(r.stdout.trim());
  const gid = Number(g.stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || r.status !== 0) throw new Error('no `postgres` OS user to run the private cluster as');
  return { uid, gid };
}

/** A database of its own in a private cluster: created, migrated; a small pg pool for checks. */
export interface PrivateStore {
  url: string;
  orm: Orm;
  em(): EntityManager;
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function createPrivateStore(cluster: PrivatePostgres, orm?: { pool?: { min: number; max: number } }): Promise<PrivateStore> {
  const url = cluster.databaseUrl(`hrsync_c_${randomBytes(4).toString('hex')}`);
  const o = await openStore(url, undefined, orm?.pool ? { pool: orm.pool } : {});
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => {
    /* an idle checker connection dropped by a restart: the pool replaces it */
  });
  return {
    url,
    orm: o,
    em: () => o.em.fork() as EntityManager,
    async query<T>(text: string, params: unknown[] = []) {
      return (await pool.query(text, params)).rows as T[];
    },
    async close() {
      await pool.end().catch(() => {});
      await o.close(true).catch(() => {});
    },
  };
}

/** Runs `fn` until it resolves, for up to `timeoutMs` (a query while the server comes back). */
export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 30_000, stepMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}
