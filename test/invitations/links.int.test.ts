import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.js';
import { startHttpService, type HttpService } from '../support/http.js';
import { tokenOf, waitFor } from '../support/service.js';
import { employees } from '../support/store.js';

/**
 * A link that survives re-sends: worker processes SIGKILLed mid-rollout against a slow SMTP
 * server send some messages twice; every copy of one invitation carries the same link and
 * the same Message-ID, and every link anyone received is accepted by POST /api/invitations/accept.
 */
let h: HttpService;

beforeAll(async () => {
  process.env.ACCEPT_RATE_LIMIT_PER_MINUTE = '100000';
  h = await startHttpService({ workers: false, env: { INVITE_BATCH_SIZE: '20', INVITE_RATE_PER_SECOND: '0' } });
  h.sink.setFaults({ delayMs: 60 });
});
afterAll(async () => {
  delete process.env.ACCEPT_RATE_LIMIT_PER_MINUTE;
  await h?.close();
});

const worker = () => spawnCli(['start', '--role', 'worker'], { ...h.svc.env, LOG_LEVEL: 'silent' });

describe('links that keep working', () => {
  it('SIGKILLed workers: everyone invited, copies sent again carry the same link and Message-ID, every link received is accepted', async () => {
    await h.svc.sync(employees(240));
    const ids = await h.svc.userIds();
    let ws = [worker(), worker()];
    await Promise.all(ws.map((w) => w.waitFor('is running')));
    const r = await h.svc.ctx.rollouts().create(h.svc.org, { userIds: ids, loginMethod: 'password' });
    let inFlightAtKills = 0;
    // two rounds of killing every worker while messages are on the wire
    for (const atLeast of [50, 130]) {
      await waitFor(async () => h.sink.messages.length >= atLeast, 60_000, 5);
      for (const w of ws) w.child.kill('SIGKILL');
      await Promise.all(ws.map((w) => w.exited));
      inFlightAtKills += Number((await h.svc.store.query<{ n: number }>(`select count(*)::int as n from invitations where rollout_id = $1 and status = 'sending'`, [r.id]))[0].n);
      ws = [worker(), worker()];
      await Promise.all(ws.map((w) => w.waitFor('is running')));
    }
    const done = await waitFor(async () => {
      const x = await h.svc.ctx.rollouts().get(r.id);
      return x?.status === 'completed' ? x : null;
    }, 120_000, 100);
    for (const w of ws) w.child.kill('SIGTERM');
    await Promise.all(ws.map((w) => w.exited));
    expect(inFlightAtKills).toBeGreaterThan(0); // the kills did catch messages in flight
    expect(done.counts).toMatchObject({ targeted: 240, sent: 240, pending: 0, failed: 0 });

    const byUser = new Map<string, { tokens: Set<string>; messageIds: Set<string>; copies: number }>();
    for (const m of h.sink.messages) {
      const to = m.envelope.to[0]!;
      const e = byUser.get(to) ?? { tokens: new Set(), messageIds: new Set(), copies: 0 };
      e.tokens.add(tokenOf(m.text));
      e.messageIds.add(m.messageId!);
      e.copies++;
      byUser.set(to, e);
    }
    expect(byUser.size).toBe(240);
    const resent = [...byUser.values()].filter((e) => e.copies > 1);
    expect(resent.length).toBeGreaterThan(0); // some messages were sent twice
    for (const e of byUser.values()) {
      expect(e.tokens.size).toBe(1); // the first copy's link is the link
      expect(e.messageIds.size).toBe(1);
    }
    // every link anyone received: accepted through the API
    const answers = await Promise.all(
      [...byUser.values()].map(async (e) => (await h.call('POST', '/api/invitations/accept', { token: null, body: { token: [...e.tokens][0] } })).statusCode),
    );
    expect(answers.filter((s) => s === 200)).toHaveLength(240);
    const active = await h.svc.store.query<{ n: number }>(`select count(*)::int as n from users where id = any($1) and access = 'active'`, [ids]);
    expect(active[0].n).toBe(240);
  }, 240_000);
});
