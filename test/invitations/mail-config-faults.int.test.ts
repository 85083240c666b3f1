import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, waitFor, type TestService } from '../support/service.js';
import { employees } from '../support/store.js';

/**
 * The mail server refusing our configuration — credentials (535), TLS (a certificate it
 * cannot verify) — pauses the rollout with the reason and fails nobody; resuming once the
 * server is right sends to everyone. One SMTP URL (smtp://user:pass@…), three servers behind
 * it in turn.
 */
let svc: TestService;
let port = 0;
let server: SMTPServer | null = null;
let received: string[] = [];

async function serve(kind: 'bad-auth' | 'bad-tls' | 'good'): Promise<void> {
  if (server) await new Promise<void>((r) => server!.close(() => r()));
  server = new SMTPServer({
    logger: false,
    closeTimeout: 100,
    disableReverseLookup: true,
    allowInsecureAuth: true,
    authOptional: false,
    // bad-tls offers STARTTLS with smtp-server's built-in self-signed certificate: nodemailer refuses to trust it
    disabledCommands: kind === 'bad-tls' ? [] : ['STARTTLS'],
    onAuth(auth, _session, cb) {
      if (kind === 'bad-auth') return cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }));
      cb(null, { user: auth.username });
    },
    onData(stream, session, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        received.push(session.envelope.rcptTo[0]!.address);
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', () => resolve()));
  port = (server.server.address() as { port: number }).port;
}

beforeAll(async () => {
  await serve('bad-auth');
  svc = await startTestService({ smtpUrl: `smtp://hrsync:secret@127.0.0.1:${port}`, env: { INVITE_BATCH_SIZE: '10' } });
  await svc.sync(employees(20));
});
afterAll(async () => {
  await svc?.close();
  if (server) await new Promise<void>((r) => server!.close(() => r()));
});

const reaches = (id: string, status: string) =>
  waitFor(async () => {
    const r = await svc.ctx.rollouts().get(id);
    return r?.status === status ? r : null;
  }, 30_000, 50);

describe('mail configuration faults', () => {
  it.each([
    ['bad-auth', /auth_failed/],
    ['bad-tls', /tls_failed/],
  ] as const)('%s: the rollout pauses with the reason, nobody fails; fixed and resumed, everyone gets it', async (kind, reason) => {
    await serve(kind);
    received = [];
    const ids = await svc.userIds();
    await svc.store.query(`update invitations set expires_at = now() - interval '1 second' where status = 'sent'`); // the previous case's
    const r = await svc.ctx.rollouts().create(svc.org, { userIds: ids, loginMethod: 'sso' });
    const paused = await reaches(r.id, 'paused');
    expect(paused.error).toMatch(reason);
    expect(paused.error).not.toContain('secret');
    await new Promise((res) => setTimeout(res, 800));
    expect((await svc.ctx.rollouts().get(r.id))!.counts).toMatchObject({ failed: 0, sent: 0, pending: 20 });
    expect(received).toHaveLength(0);
    await serve('good');
    await svc.ctx.rollouts().resume(r.id);
    const done = await reaches(r.id, 'completed');
    expect(done.counts).toMatchObject({ sent: 20, failed: 0 });
    expect(new Set(received).size).toBe(20);
  }, 60_000);
});
