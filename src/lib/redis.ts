import { Redis } from 'ioredis';
import { AppError } from './errors.js';
import { safeUrl } from './urls.js';

export function redisUnreachable(url: string, err: unknown): AppError {
  const reason = (err as { code?: string }).code ?? (err as Error).message;
  return new AppError(
    'redis_unreachable',
    `cannot reach Redis at ${safeUrl(url)} (${reason}): start it with \`redis-server --daemonize yes --port 6379\`, or \`docker compose up -d redis\`, or set REDIS_URL`,
    { cause: err, retryable: true },
  );
}

/** Connects once, pings, and fails fast with a clear error naming the URL. */
export async function checkRedis(url: string, timeoutMs = 3_000): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, connectTimeout: timeoutMs, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw redisUnreachable(url, err);
  } finally {
    client.disconnect();
  }
}
