import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Redis } from 'ioredis';
import { findConnectorConfig } from '../../config/load.js';
import { errorMessage } from '../../lib/errors.js';
import { recordDelivery } from '../../webhooks/webhook-stats.js';
import { vendorWebhook } from '../../webhooks/vendors.js';
import type { HttpDeps } from '../deps.js';

/** How long a delivery is remembered, to refuse the same one again (beyond the timestamp's tolerance). */
const SEEN_TTL_SECONDS = 15 * 60;

/**
 * POST /hooks/<connectorId>: an HR system's signed webhook. No bearer token: the signature is
 * the authentication. Unknown connector, no webhook secret configured, a missing or wrong
 * signature, a timestamp more than 5 minutes off, a delivery seen before → 401 without detail.
 * The payload only names people: they are queued for a look-up by id (jobs/webhooks), answered 202.
 */
export async function hookRoutes(app: FastifyInstance, opts: { deps: HttpDeps }): Promise<void> {
  const { deps } = opts;
  let redis: Redis | null = null;
  const getRedis = () => {
    if (!redis) {
      redis = new Redis(deps.config.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 5_000 });
      redis.on('error', () => {});
    }
    return redis;
  };
  app.addHook('onClose', async () => {
    redis?.disconnect();
  });
  // The signature covers the bytes as sent: keep them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const deny = (reply: FastifyReply) => reply.code(401).send({ error: { code: 'unauthorized', message: 'unauthorized' } });

  // Public (no token): a client that keeps failing signatures cannot make the store write without end.
  const max = Number(process.env.WEBHOOK_RATE_LIMIT_PER_MINUTE ?? 6_000);
  app.post<{ Params: { connectorId: string } }>('/:connectorId', { config: { rateLimit: { max, timeWindow: '1 minute' } } }, async (request, reply) => {
    const found = findConnectorConfig(deps.config, request.params.connectorId);
    const vendor = found ? vendorWebhook(found.connector.type) : undefined;
    const secret = found?.connector.webhook?.secret;
    if (!found || !vendor || !secret) return deny(reply);
    const cc = found.connector;
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const verdict = vendor.verify(secret, raw, request.headers, new Date());
    const log = request.log.child({ connectorId: cc.id });
    // A correctly signed delivery without a timestamp that names nobody (HiBob's set-up "Ping test")
    // is acknowledged: replaying it can do nothing.
    if (!verdict.ok && verdict.reason === 'no_timestamp' && vendor.events(parseJson(raw)).length === 0) {
      return reply.code(202).send({ accepted: 0 });
    }
    if (!verdict.ok) {
      log.warn({ reason: verdict.reason }, 'webhook refused');
      await recordDelivery(deps.em(), cc.id, false).catch(() => {});
      return deny(reply);
    }
    // The same delivery twice (a replay within the tolerance) is refused too.
    const key = `${deps.config.queuePrefix}:hook-seen:${cc.id}:${createHash('sha256').update(raw).update(verdict.at.toISOString()).digest('base64url')}`;
    const client = getRedis();
    const first = await client.set(key, '1', 'EX', SEEN_TTL_SECONDS, 'NX').catch(() => undefined);
    if (first === undefined) return reply.code(503).send({ error: { code: 'redis_unreachable', message: 'try again later' } });
    if (first !== 'OK') {
      log.warn({ reason: 'replayed' }, 'webhook refused');
      await recordDelivery(deps.em(), cc.id, false).catch(() => {});
      return deny(reply);
    }
    // A signed body that is not an event names nobody: 202, nothing queued.
    const events = vendor.events(parseJson(raw));
    try {
      if (!deps.enqueueWebhookEvents) throw new Error('no webhook queue in this process');
      await deps.enqueueWebhookEvents(cc.id, events, cc.webhook?.debounceMs ?? 500);
    } catch (err) {
      // Not queued: let the vendor deliver again (it retries 5xx), and accept that delivery then.
      await client.del(key).catch(() => {});
      log.error({ err: errorMessage(err) }, 'webhook events not queued');
      return reply.code(503).send({ error: { code: 'redis_unreachable', message: 'try again later' } });
    }
    await recordDelivery(deps.em(), cc.id, true).catch(() => {});
    log.info({ vendor: vendor.vendor, people: events.length }, 'webhook accepted');
    return reply.code(202).send({ accepted: events.length });
  });
}

function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}
