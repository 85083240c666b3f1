import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAcceptUrl, compileInvitationTemplates, type CompiledInvitationTemplates, type InvitationMailData } from '../../src/mail/invitation-template.js';
import { isMailSendError } from '../../src/mail/mail-send-error.js';
import { encodeWords, formatMailbox, formatRfc5322Date, normalizeAddress, qpEncodePiece } from '../../src/mail/mime.js';

/** A strict quoted-printable decoder for the tests (RFC 2045 §6.7), to UTF-8 text with LF. */
function qpDecode(encoded: string): string {
  expect(encoded).not.toMatch(/\r(?!\n)|(?<!\r)\n/); // CRLF only
  const lines = encoded.split('\r\n');
  const bytes: number[] = [];
  for (let li = 0; li < lines.length; li++) {
    const line = lines[li]!;
    expect(line.length).toBeLessThanOrEqual(76);
    expect(line).not.toMatch(/[ \t]$/); // trailing whitespace must have been encoded
    let soft = false;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      expect(c >= 32 && c <= 126 || c === 9).toBe(true);
      if (line[i] === '=') {
        if (i === line.length - 1) { soft = true; break; }
        const hex = line.slice(i + 1, i + 3);
        expect(hex).toMatch(/^[0-9A-F]{2}$/);
        bytes.push(parseInt(hex, 16));
        i += 2;
      } else bytes.push(c);
    }
    if (!soft && li < lines.length - 1) bytes.push(10);
  }
  return Buffer.from(bytes).toString('utf8');
}

describe('quoted-printable pieces', () => {
  it('round-trips any text, including long lines, trailing spaces, "=", dots and emoji', () => {
    const samples = ['', 'a', 'x'.repeat(300), 'a = b', 'end  ', 'tab\t\nnext', '.\n.dot', 'From me', 'Zoë 😀 ' + 'ü'.repeat(50), 'a\r\nb\nc'];
    for (const s of samples) expect(qpDecode(qpEncodePiece(s))).toBe(s.replace(/\r\n/g, '\n'));
  });

  it('pieces concatenate into the concatenated text (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 120 }), { maxLength: 8 }), (parts) => {
        const clean = parts.map((p) => p.replace(/\r/g, '').replace(/[\uD800-\uDFFF]/g, '?'));
        const encoded = clean.map(qpEncodePiece).join('');
        expect(qpDecode(encoded)).toBe(clean.join(''));
      }),
      { numRuns: 300 },
    );
  });

  it('never starts a line with a bare "." or "From "', () => {
    const enc = qpEncodePiece('.hidden\nFrom here\n' + 'y'.repeat(75) + '.');
    for (const line of enc.split('\r\n')) {
      expect(line.startsWith('.')).toBe(false);
      expect(line.startsWith('From ')).toBe(false);
    }
  });
});

describe('headers', () => {
  it('encodes non-ASCII words per RFC 2047 in short encoded words', () => {
    const words = encodeWords('Grüße aus Köln — 東京オフィス'.repeat(3));
    for (const w of words) {
      expect(w).toMatch(/^=\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
      expect(w.length).toBeLessThanOrEqual(75);
    }
    const decoded = Buffer.concat(words.map((w) => Buffer.from(w.slice(10, -2), 'base64'))).toString('utf8');
    expect(decoded).toBe('Grüße aus Köln — 東京オフィス'.repeat(3));
  });

  it('formats mailboxes: atoms plain, specials quoted, non-ASCII encoded', () => {
    expect(formatMailbox({ name: 'Ana Ruiz', address: 'ana@acme.example' })).toBe('Ana Ruiz <ana@acme.example>');
    expect(formatMailbox({ name: 'Ruiz, Ana "AR"', address: 'a@b.example' })).toBe('"Ruiz, Ana \\"AR\\"" <a@b.example>');
    expect(formatMailbox({ name: 'Zoë', address: 'z@b.example' })).toBe('=?UTF-8?B?Wm/Dqw==?= <z@b.example>');
    expect(formatMailbox({ name: null, address: 'z@b.example' })).toBe('z@b.example');
  });

  it('normalizes addresses and refuses unusable ones as permanent', () => {
    expect(normalizeAddress(' ana@bücher.example ')).toBe('ana@xn--bcher-kva.example');
    for (const bad of ['', 'ana', '@x.example', 'a b@x.example', 'ana@', 'a@b@c', 'ana@x.example>\r\nBcc: y@z.example', 'zoë@x.example', 'a..b@x.example']) {
      let caught: unknown;
      try { normalizeAddress(bad); } catch (err) { caught = err; }
      expect(isMailSendError(caught) && caught.permanent, bad).toBe(true);
    }
  });

  it('writes RFC 5322 dates', () => {
    expect(formatRfc5322Date(new Date('2026-03-04T05:06:07Z'))).toBe('Wed, 04 Mar 2026 05:06:07 +0000');
  });
});

describe('built invitation messages', () => {
  let compiled: CompiledInvitationTemplates;
  const data: InvitationMailData = {
    to: 'ana@acme.example',
    firstName: 'Zoë <b>',
    lastName: "O'Neil",
    organizationName: 'Bäckerei Müller & Söhne "Süd"',
    loginMethod: 'magic_link',
    message: 'Willkommen! <script>x</script>\n\nBis Montag.\n' + 'lang '.repeat(60),
    acceptUrl: buildAcceptUrl('https://app.example', 'k'.repeat(43)),
    expiresAt: new Date('2026-03-04T15:30:00Z'),
  };
  beforeAll(async () => {
    compiled = await compileInvitationTemplates({ from: 'Acme Workplace <no-reply@acme.example>' });
  });

  it('parses back to the rendered subject, html and text', async () => {
    for (const loginMethod of ['password', 'sso', 'magic_link'] as const) {
      for (const message of [null, data.message]) {
        const d = { ...data, loginMethod, message };
        const mail = compiled.build(d, { date: new Date('2026-02-25T10:00:00Z') });
        const r = compiled.render(d);
        const parsed = await simpleParser(mail.raw);
        expect(parsed.subject).toBe(r.subject);
        expect((parsed.html as string).replace(/\r\n/g, '\n')).toBe(r.html);
        expect(parsed.text!.replace(/\r\n/g, '\n').trimEnd()).toBe(r.text.trimEnd());
        expect(parsed.messageId).toBe(mail.messageId);
        expect(parsed.date?.toISOString()).toBe('2026-02-25T10:00:00.000Z');
        expect(parsed.from?.value).toEqual([{ name: 'Acme Workplace', address: 'no-reply@acme.example' }]);
        const to = Array.isArray(parsed.to) ? parsed.to[0]! : parsed.to!;
        expect(to.value).toEqual([{ name: "Zoë <b> O'Neil", address: 'ana@acme.example' }]);
        expect(parsed.headers.get('mime-version')).toBe('1.0');
        expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
      }
    }
  });

  it('is 7-bit, CRLF-only, with lines of at most 78 characters and QP parts', () => {
    const { raw } = compiled.build(data);
    const s = raw.toString();
    expect(s).toMatch(/^[\x00-\x7f]*$/);
    expect(s).not.toMatch(/\r(?!\n)|(?<!\r)\n/);
    for (const line of s.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(s.match(/Content-Transfer-Encoding: quoted-printable/g)).toHaveLength(2);
    expect(s).toMatch(/^Subject: =\?UTF-8\?B\?/m);
    expect(s).toContain('Content-Type: multipart/alternative;\r\n boundary="=_hrsync_');
  });

  it('carries the envelope, a fresh Message-ID per message, and extra headers', async () => {
    const a = compiled.build(data, { headers: { 'X-Hrsync-Invitation-Id': 'inv_1' }, logId: 'inv_1' });
    const b = compiled.build(data);
    expect(a.envelope).toEqual({ from: 'no-reply@acme.example', to: ['ana@acme.example'] });
    expect(a.messageId).toMatch(/^<[0-9a-f-]{36}@acme\.example>$/);
    expect(a.messageId).not.toBe(b.messageId);
    expect(a.logId).toBe('inv_1');
    expect((await simpleParser(a.raw)).headers.get('x-hrsync-invitation-id')).toBe('inv_1');
    expect(compiled.build(data, { messageId: 'inv_1.r1@acme.example' }).messageId).toBe('<inv_1.r1@acme.example>');
  });

  it('cannot be made to carry extra headers through names or the organization', async () => {
    const mail = compiled.build({ ...data, firstName: 'Ana\r\nBcc: evil@x.example', organizationName: 'Acme\r\nBcc: evil@x.example' });
    const parsed = await simpleParser(mail.raw);
    expect(parsed.bcc).toBeUndefined();
    expect(mail.raw.toString()).not.toMatch(/^Bcc:/im);
  });

  it('refuses an unusable recipient address with a permanent error', () => {
    expect(() => compiled.build({ ...data, to: 'not an address' })).toThrow(expect.objectContaining({ name: 'MailSendError', permanent: true }));
  });
});
