import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailTransport, createMailTransportFromEnv } from '../../src/mail/create-mail-transport.js';
import { FileMailTransport, outboxFileName } from '../../src/mail/file-transport.js';
import { buildAcceptUrl, compileInvitationTemplates, type CompiledInvitationTemplates, type InvitationMailData } from '../../src/mail/invitation-template.js';
import { isMailSendError } from '../../src/mail/mail-send-error.js';

const invitation = (i: number): InvitationMailData => ({
  to: `person${i}@acme.example`,
  firstName: `Person${i}`,
  lastName: null,
  organizationName: 'Acme GmbH',
  loginMethod: 'magic_link',
  message: 'Hello\nthere',
  acceptUrl: buildAcceptUrl('https://app.example', `tok_${i}`),
  expiresAt: new Date('2026-03-04T15:30:00Z'),
});

let dir: string;
let compiled: CompiledInvitationTemplates;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hrsync-outbox-'));
  compiled = await compileInvitationTemplates();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('file outbox', () => {
  it('writes one parsable .eml per message, named by time and Message-ID, and nothing else', async () => {
    const outbox = join(dir, 'a', 'nested');
    const t = new FileMailTransport({ dir: outbox });
    expect(t.kind).toBe('file');
    const mails = Array.from({ length: 25 }, (_, i) => compiled.build(invitation(i)));
    await Promise.all(mails.map((m) => t.send(m)));
    await t.close();
    const files = (await readdir(outbox)).sort();
    expect(files).toHaveLength(25);
    for (const f of files) expect(f).toMatch(/^\d{8}T\d{9}Z-[0-9a-f-]{36}@hrsync\.localhost\.eml$/);
    const byId = new Map(mails.map((m) => [m.messageId, m]));
    for (const f of files) {
      const raw = await readFile(join(outbox, f));
      const parsed = await simpleParser(raw);
      const mail = byId.get(parsed.messageId!)!;
      expect(mail).toBeDefined();
      expect(raw.toString()).toBe(mail.raw);
      expect(f).toContain(mail.messageId.slice(1, -1));
      const i = Number(/person(\d+)@/.exec(mail.envelope.to[0]!)![1]);
      expect(parsed.subject).toBe(compiled.render(invitation(i)).subject);
      expect(parsed.text).toContain('> Hello\n> there');
    }
  });

  it('makes file-safe names', () => {
    expect(outboxFileName('<a/b\\c:d@x.example>', new Date('2026-01-02T03:04:05.678Z'))).toBe('20260102T030405678Z-a_b_c_d@x.example.eml');
  });

  it('reports a write failure as a transient MailSendError', async () => {
    const blocker = join(dir, 'not-a-dir');
    await writeFile(blocker, 'x');
    const t = new FileMailTransport({ dir: blocker });
    let caught: unknown;
    try {
      await t.send(compiled.build(invitation(1)));
    } catch (err) {
      caught = err;
    }
    expect(isMailSendError(caught) && !caught.permanent && caught.reason === 'io_error').toBe(true);
  });

  it('refuses sends after close', async () => {
    const t = new FileMailTransport({ dir: join(dir, 'closed') });
    await t.close();
    await expect(t.send(compiled.build(invitation(1)))).rejects.toMatchObject({ reason: 'transport_closed', permanent: false });
  });
});

describe('createMailTransport', () => {
  it('picks SMTP when SMTP_URL is set', async () => {
    const t = createMailTransportFromEnv({ SMTP_URL: 'smtp://127.0.0.1:2525', OUTBOX_DIR: dir });
    expect(t.kind).toBe('smtp');
    await t.close();
  });

  it('picks the file outbox in OUTBOX_DIR otherwise, ./outbox by default', async () => {
    const a = createMailTransportFromEnv({ OUTBOX_DIR: join(dir, 'env') });
    expect(a.kind).toBe('file');
    expect((a as FileMailTransport).dir).toBe(join(dir, 'env'));
    const b = createMailTransportFromEnv({ SMTP_URL: '  ' });
    expect((b as FileMailTransport).dir).toBe(resolve('./outbox'));
    const c = createMailTransport({});
    expect(c.kind).toBe('file');
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('refuses an SMTP_URL that is not smtp:// or smtps://', () => {
    expect(() => createMailTransport({ smtpUrl: 'http://example' })).toThrow(/SMTP_URL/);
  });
});
