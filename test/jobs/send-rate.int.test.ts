import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planSlots } from '../../jobs/rate-limit.js';
import { spawnCli } from '../support/cli.js';
import { startSmtpSink, type SmtpSink } from '../support/smtp-sink.js';
import { startTestService, waitFor, type TestService } from '../support/service.js';
import { employees, tempDir } from '../support/store.js';

/**
 * The send quota holds across worker processes: three real `hrsync start --role worker`
 * processes send one rollout, and the SMTP server sees at most the limit in every second,
 * and on average within 10 % of it (rate-limiter-flexible over Redis, slots aligned on the
 * clock: no double burst at a window's edge).
 */
const LIMIT = 20;
const USERS = 240;
let sink: SmtpSink;
let svc: TestService;
/** When each message started at the SMTP server (MAIL FROM): DATA's round trips add load-dependent jitter after it. */
const arrivals: number[] = [];
const senders = new Map<string, number>();
let delivered = 0;

beforeAll(async () => {
  sink = await startSmtpSink({
    parse: false,
    onMailFrom: () => void arrivals.push(Date.now()),
    onMessage: (m) => {
      delivered += 1;
      senders.set(m.envelope.from, (senders.get(m.envelope.from) ?? 0) + 1);
    },
  });
  svc = await startTestService({ smtpUrl: sink.url, workers: false, env: { INVITE_BATCH_SIZE: '20', INVITE_RATE_PER_SECOND: String(LIMIT) } });
});
afterAll(async () => {
  await svc?.close();
  await sink?.close();
});

describe('the send-rate limit across processes', () => {
  it('cuts a second into slots of whole chunks, never more than the limit per second', () => {
    expect(planSlots(20, 5)).toEqual({ slotMs: 250, quota: 5 });
    expect(planSlots(20, 3)).toEqual({ slotMs: 1000 / 6, quota: 3 });
    expect(planSlots(400, 5)).toEqual({ slotMs: 50, quota: 20 });
    expect(planSlots(0.5, 1)).toEqual({ slotMs: 2000, quota: 1 });
    for (const [rate, chunk] of [[20, 5], [20, 3], [7, 2], [400, 25], [1000, 1], [3, 3]]) {
      const { slotMs, quota } = planSlots(rate, chunk);
      expect(Math.round(1000 / slotMs) * quota, `${rate}/${chunk}`).toBeLessThanOrEqual(rate);
      expect(quota).toBeGreaterThanOrEqual(chunk);
    }
  });

  it(`keeps ${LIMIT} messages a second, measured at the SMTP server, with 3 worker processes`, async () => {
    await svc.sync(employees(USERS));
    const ids = await svc.userIds();
    // The workers' config: the test service's, with chunks of 5 (4 slots a second of 5 messages)
    const file = parse(readFileSync(svc.ctx.config.source, 'utf8')) as { invitations?: Record<string, unknown> };
    file.invitations = { ...file.invitations, chunkSize: 5 };
    const configPath = join(tempDir('hrsync-rate-'), 'hrsync.config.yaml');
    writeFileSync(configPath, stringify(file));
    const env = { ...svc.env, HRSYNC_CONFIG: configPath, INVITE_CONCURRENCY: '4', LOG_LEVEL: 'silent' };
    // each process sends from an address of its own, so the SMTP server can tell them apart
    const workers = [1, 2, 3].map((k) => spawnCli(['start', '--role', 'worker'], { ...env, MAIL_FROM: `hrsync <worker${k}@hrsync.local>` }));
    try {
      await Promise.all(workers.map((w) => w.waitFor('is running', 60_000)));
      const r = await svc.ctx.rollouts().create(svc.org, { userIds: ids, loginMethod: 'password' });
      const done = await waitFor(async () => {
        const x = await svc.ctx.rollouts().get(r.id);
        return x?.status === 'completed' ? x : null;
      }, 90_000, 200);
      expect(done.counts).toMatchObject({ targeted: USERS, sent: USERS, failed: 0 });
    } finally {
      for (const w of workers) w.child.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
    }
    expect(delivered).toBe(USERS);
    expect(arrivals).toHaveLength(USERS);
    // all three processes sent
    expect([...senders.keys()].sort()).toEqual(['worker1@hrsync.local', 'worker2@hrsync.local', 'worker3@hrsync.local']);

    // messages per wall-clock second
    const perSecond = new Map<number, number>();
    for (const t of arrivals) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
    const seconds = [...perSecond.keys()].sort((a, b) => a - b);
    const counts = seconds.map((s) => perSecond.get(s) ?? 0);
    expect(Math.max(...counts), `per second: ${counts.join(' ')}`).toBeLessThanOrEqual(LIMIT);
    // the full seconds (not the first and last, partly used) run within 10 % of the limit
    const full = [];
    for (let s = seconds[0] + 1; s < seconds[seconds.length - 1]; s++) full.push(perSecond.get(s) ?? 0);
    expect(full.length).toBeGreaterThanOrEqual(8);
    const mean = full.reduce((a, b) => a + b, 0) / full.length;
    expect(mean, `per second: ${counts.join(' ')}`).toBeGreaterThanOrEqual(LIMIT * 0.9);
    // and in any one-second span (not just clock seconds): no double burst at an edge
    let maxSpan = 0;
    const sorted = [...arrivals].sort((a, b) => a - b);
    for (let i = 0, j = 0; i < sorted.length; i++) {
      while (sorted[i] - sorted[j] >= 1000) j++;
      maxSpan = Math.max(maxSpan, i - j + 1);
    }
    console.log(`send rate: ${counts.join(' ')} per clock second (by process: ${[...senders.values()].join('/')}); mean of full seconds ${mean.toFixed(1)}; max in any 1 s span ${maxSpan}`);
    // A double burst at a window's edge puts 2 × LIMIT (40) in one span. Slots start chunks on the
    // clock, but a chunk's messages then queue on pooled connections behind the SMTP server's
    // replies, and a busy machine (two test files at once on 2 cores) delays them further: spans of
    // LIMIT + 2 chunks (30) were seen with every clock second at exactly 20. So the bound is what
    // tells a double burst from that jitter: fewer than 2 × LIMIT.
    expect(maxSpan).toBeLessThan(2 * LIMIT);
  }, 150_000);
});
