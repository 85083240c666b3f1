import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers, type RunningWorkers } from '../../jobs/workers.js';
import { createContext, type AppContext } from '../../src/app/context.js';
import { silentLogger } from '../../src/lib/logger.js';
import { notificationEvent } from '../../src/notifications/events.js';
import { SIGNATURE_HEADER, verifySignature } from '../../src/notifications/signature.js';
import { auditSecrets } from '../support/log-audit.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../support/redis.js';
import { tokenOf, waitFor } from '../support/service.js';
import { buildApp } from '../../src/http/app.js';
import { createToken, TokenVerifier } from '../../src/auth/tokens.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { configFor, createTestStore, employees, tempDir, toCsv, type TestStore } from '../support/store.js';

/**
 * Outbound notifications end to end: a held run → a signed webhook at a real receiver on
 * 127.0.0.1 and an e-mail to the organization's administrators (SMTP sink); a receiver answering
 * 500 gets retries with exponential backoff, and its endpoint is disabled after failed deliveries.
 */
const SECRET = 'ops-hook-secret-0123456789abcdef';
const FLAKY_SECRET = 'flaky-hook-secret-0123456789abcd';
auditSecrets(SECRET, FLAKY_SECRET);

interface Received { at: number; headers: IncomingHttpHeaders; body: string }
function receiver(status: () => number): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ at: Date.now(), headers: req.headers, body });
      res.writeHead(status()).end();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, got })));
}

let store: TestStore;
let ctx: AppContext;
let workers: RunningWorkers;
let sink: SmtpSink;
let ok: Awaited<ReturnType<typeof receiver>>;
let flaky: Awaited<ReturnType<typeof receiver>>;
let dir: string;
const prefix = testPrefix();

beforeAll(async () => {
  store = await createTestStore();
  sink = await startSmtpSink();
  ok = await receiver(() => 204);
  flaky = await receiver(() => 500);
  dir = tempDir('hrsync-notify-');
  writeFileSync(join(dir, 'hr.csv'), toCsv(employees(20)));
  const config = configFor(store.url, {
    organizations: [{
      id: 'acme',
      name: 'Acme',
      connectors: [{ id: 'acme-file', type: 'file', options: { path: join(dir, 'hr.csv') } }],
      notifications: {
        webhooks: [
          { id: 'ops', url: ok.url, secret: '${OPS_SECRET}' },
          { id: 'flaky', url: flaky.url, secret: '${FLAKY_SECRET}', events: ['sync.run.held', 'rollout.completed'] },
        ],
        emails: { to: ['admin1@acme.example', 'admin2@acme.example'] },
        attempts: 4,
        retryDelayMs: 200,
        disableAfterFailures: 1,
      },
    }],
  }, { REDIS_URL, HRSYNC_QUEUE_PREFIX: prefix, SMTP_URL: sink.url, OPS_SECRET: SECRET, FLAKY_SECRET });
  ctx = await createContext({ config, log: silentLogger });
  workers = await startWorkers(ctx);
}, 60_000);
afterAll(async () => {
  await workers?.close(5_000);
  await ctx?.close();
  await sink?.close();
  ok?.server.close();
  flaky?.server.close();
  await deletePrefix(REDIS_URL, prefix).catch(() => {});
  await store?.drop();
});

describe('a run held for approval', () => {
  it('posts a correctly signed webhook within seconds and e-mails the administrators', async () => {
    expect((await ctx.sync.run({ connectorId: 'acme-file' })).status).toBe('succeeded');
    writeFileSync(join(dir, 'hr.csv'), toCsv(employees(15)));
    const t0 = Date.now();
    const held = await ctx.sync.run({ connectorId: 'acme-file' });
    expect(held.status).toBe('needs_approval');
    const hit = await waitFor(async () => ok.got.find((r) => JSON.parse(r.body).type === 'sync.run.held'), 10_000);
    expect(hit.at - t0).toBeLessThan(5_000);
    expect(verifySignature(SECRET, hit.body, hit.headers[SIGNATURE_HEADER] as string)).toBe(true);
    // a receiver's check fails on a tampered body
    expect(verifySignature(SECRET, hit.body.replace('"heldDeactivations":5', '"heldDeactivations":6'), hit.headers[SIGNATURE_HEADER] as string)).toBe(false);
    const event = JSON.parse(hit.body);
    expect(event).toMatchObject({ type: 'sync.run.held', organizationId: 'acme', data: { runId: held.id, connectorId: 'acme-file', heldDeactivations: 5 } });
    expect(hit.headers['hrsync-event-id']).toBe(event.id);
    expect(hit.body).not.toMatch(/@|person\d|First\d|Last\d/); // ids and counts, no personal data

    const mail = await waitFor(async () => sink.messages.find((m) => /approval/.test(m.subject ?? '')), 10_000);
    expect(mail.envelope.to.sort()).toEqual(['admin1@acme.example', 'admin2@acme.example']);
    expect(mail.subject).toContain('acme-file');
    expect(String(mail.text)).toContain(held.id);

    // approved: each deactivation in the people's history names the run and who approved it
    await ctx.sync.approve(held.id, 'token:tok-123');
    const events = await store.query<{ kind: string; actor_type: string; actor_id: string; data: { by?: string; approvedBy?: string } }>(
      `select e.kind, e.actor_type, e.actor_id, e.data from user_events e join users u on u.id = e.user_id where u.external_id = 'E16' order by e.id`);
    expect(events.map((e) => e.kind)).toEqual(['created', 'deactivated']);
    expect(events[1]).toMatchObject({ actor_type: 'run', actor_id: held.id, data: { by: 'sync', approvedBy: 'token:tok-123' } });
  }, 30_000);

  it('retries a receiver answering 500 with exponential backoff, records the failure, then disables the endpoint', async () => {
    const tries = await waitFor(async () => (flaky.got.length >= 4 ? flaky.got : null), 15_000);
    const gaps = tries.slice(1, 4).map((r, i) => r.at - tries[i].at);
    // 200 ms, 400 ms, 800 ms: each try waits at least its delay (20 ms for timers), whatever the
    // machine's load. Load only lengthens a gap, so ratios between gaps are not compared (a busy
    // machine once made them 331 and 494 ms); the floors alone rule out a fixed or linear backoff.
    expect(gaps[0]).toBeGreaterThanOrEqual(180);
    expect(gaps[1]).toBeGreaterThanOrEqual(380);
    expect(gaps[2]).toBeGreaterThanOrEqual(780);
    for (const t of tries) expect(verifySignature(FLAKY_SECRET, t.body, t.headers[SIGNATURE_HEADER] as string)).toBe(true);
    const [delivery] = await waitFor(async () => {
      const rows = await store.query<{ status: string; attempts: number; last_status: number }>(`select status, attempts, last_status from notification_deliveries where endpoint_id = 'flaky'`);
      return rows[0]?.status === 'failed' ? rows : null;
    }, 10_000);
    expect(delivery).toMatchObject({ status: 'failed', attempts: 4, last_status: 500 });
    // read as soon as the delivery shows failed: the endpoint's count and disabling are written with it
    const [endpoint] = await store.query<{ consecutive_failures: number; disabled_at: Date | null; disabled_reason: string | null }>(`select consecutive_failures, disabled_at, disabled_reason from notification_endpoints where endpoint_id = 'flaky'`);
    expect(endpoint.consecutive_failures).toBe(1);
    expect(endpoint.disabled_at).not.toBeNull();
    expect(endpoint.disabled_reason).toBe('1 deliveries in a row failed (last: HTTP 500)');
    // the next event skips the disabled endpoint (recorded), the healthy one still gets it
    const before = flaky.got.length;
    const e = notificationEvent('rollout.completed', 'acme', { rolloutId: '00000000-0000-4000-8000-000000000001', counts: { targeted: 1, sent: 1 } });
    await ctx.notifier.emit(e);
    await waitFor(async () => ok.got.find((r) => JSON.parse(r.body).id === e.id), 10_000);
    const rows = await store.query<{ endpoint_id: string; status: string }>(`select endpoint_id, status from notification_deliveries where event_id = $1 order by endpoint_id`, [e.id]);
    expect(rows).toEqual([{ endpoint_id: 'flaky', status: 'skipped' }, { endpoint_id: 'ops', status: 'delivered' }]);
    expect(flaky.got.length).toBe(before);
  }, 40_000);

  it('a rollout completing and an invitation accepted are posted (the acceptance by webhook only)', async () => {
    const [user] = await store.query<{ id: string }>(`select id from users where external_id = 'E1'`);
    const rollout = await ctx.rollouts().create('acme', { userIds: [user.id], loginMethod: 'password' });
    const done = await waitFor(async () => ok.got.find((r) => JSON.parse(r.body).type === 'rollout.completed' && JSON.parse(r.body).data.rolloutId === rollout.id), 15_000);
    expect(JSON.parse(done.body).data.counts).toMatchObject({ targeted: 1, sent: 1 });
    const invite = await waitFor(async () => sink.messages.find((m) => m.envelope.to.includes('person1@acme.example')), 10_000);
    const app = await buildApp({ config: ctx.config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync, tokens: new TokenVerifier(ctx.em, null, 0), readiness: async () => ({}), notifier: ctx.notifier });
    try {
      const res = await app.inject({ method: 'POST', url: '/api/invitations/accept', payload: { token: tokenOf(invite.text) } });
      expect(res.statusCode, res.body).toBe(200);
    } finally {
      await app.close();
    }
    const accepted = await waitFor(async () => ok.got.find((r) => JSON.parse(r.body).type === 'invitation.accepted'), 10_000);
    expect(JSON.parse(accepted.body).data).toMatchObject({ rolloutId: rollout.id, userId: user.id });
    expect(accepted.body).not.toContain('@');
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.messages.filter((m) => /accepted/i.test(m.subject ?? ''))).toHaveLength(0); // webhook only
    expect(sink.messages.some((m) => /rollout .* completed/.test(m.subject ?? ''))).toBe(true);
  }, 40_000);

  it('serves the endpoints\' state and the delivery log to the organization, and enables a disabled endpoint again', async () => {
    const { token } = await createToken(ctx.em(), 'acme', 'test');
    auditSecrets(token);
    const app = await buildApp({ config: ctx.config, log: ctx.log, em: ctx.em, sync: ctx.sync, rollouts: ctx.rollouts(), queues: ctx.queues(), enqueueSync: ctx.enqueueSync, tokens: new TokenVerifier(ctx.em, null, 0), readiness: async () => ({}) });
    const call = (method: 'GET' | 'POST', url: string) => app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(method === 'POST' ? { payload: {} } : {}) });
    try {
      const endpoints = (await call('GET', '/api/notifications/endpoints')).json().data;
      expect(endpoints).toEqual([
        expect.objectContaining({ id: 'ops', origin: new URL(ok.url).origin, disabledAt: null }),
        expect.objectContaining({ id: 'flaky', consecutiveFailures: 1, disabledAt: expect.any(String) }),
      ]);
      expect(JSON.stringify(endpoints)).not.toContain(FLAKY_SECRET);
      const log = (await call('GET', '/api/notifications/deliveries?endpointId=flaky')).json().data;
      expect(log.map((d: { status: string }) => d.status)).toContain('failed');
      expect(log.find((d: { status: string }) => d.status === 'failed')).toMatchObject({ attempts: 4, lastStatus: 500, eventType: 'sync.run.held' });
      const enabled = await call('POST', '/api/notifications/endpoints/flaky/enable');
      expect(enabled.statusCode, enabled.body).toBe(200);
      expect(enabled.json().data).toMatchObject({ id: 'flaky', consecutiveFailures: 0, disabledAt: null });
      expect((await call('POST', '/api/notifications/endpoints/nope/enable')).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('the same event emitted twice is delivered once', async () => {
    const e = notificationEvent('sync.run.failed', 'acme', { runId: '00000000-0000-4000-8000-000000000002', connectorId: 'acme-file', trigger: 'manual', errorCode: 'connector_auth_failed' });
    await ctx.notifier.emit(e);
    await ctx.notifier.emit(e);
    await waitFor(async () => ok.got.find((r) => JSON.parse(r.body).id === e.id), 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(ok.got.filter((r) => JSON.parse(r.body).id === e.id)).toHaveLength(1);
  });
});
