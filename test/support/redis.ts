import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A BullMQ prefix of its own for one test file (a cluster hash tag, like production). */
export function testPrefix(): string {
  return `{hrsync-t-${randomBytes(4).toString('hex')}}`;
}

/** Deletes every key of a prefix: what a Redis flush does to our queues, without touching others'. */
export async function deletePrefix(url: string, prefix: string): Promise<number> {
  const r = new Redis(url, { maxRetriesPerRequest: 3 });
  let n = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) n += await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  return n;
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

/**
 * A private redis-server on a free port, keeping nothing on disk — like the project's
 * Redis — so a test may FLUSHALL or restart it without touching anything else.
 */
export async function startPrivateRedis(): Promise<{ url: string; port: number; flushAll(): Promise<void>; restart(downMs?: number): Promise<void>; stop(): Promise<void> }> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const url = `redis://127.0.0.1:${port}`;
  const up = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        await r.connect();
        await r.ping();
        r.disconnect();
        return;
      } catch {
        r.disconnect();
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    throw new Error(`redis-server on port ${port} did not start`);
  };
  const down = async () => {
    if (!child) return;
    const c = child;
    child = null;
    await new Promise<void>((res) => {
      c.once('exit', () => res());
      c.kill('SIGKILL');
    });
  };
  await up();
  return {
    url,
    port,
    async flushAll() {
      const r = new Redis(url);
      await r.flushall();
      r.disconnect();
    },
    /** Kills the server (its data is gone) and starts a fresh one on the same port, after `downMs` of outage. */
    async restart(downMs = 0) {
      await down();
      if (downMs > 0) await new Promise((res) => setTimeout(res, downMs));
      await up();
    },
    stop: down,
  };
}
