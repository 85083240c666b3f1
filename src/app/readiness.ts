import type { EntityManager } from '@mikro-orm/postgresql';
import { errorMessage } from '../lib/errors.js';
import { checkRedis } from '../lib/redis.js';

/** Are PostgreSQL and Redis reachable? `ok` or the reason, per service. */
export async function readiness(em: () => EntityManager, redisUrl: string): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  try {
    await em().getConnection().execute('select 1');
    checks.postgres = 'ok';
  } catch (err) {
    checks.postgres = errorMessage(err);
  }
  try {
    await checkRedis(redisUrl, 1_000);
    checks.redis = 'ok';
  } catch {
    checks.redis = 'unreachable';
  }
  return checks;
}
