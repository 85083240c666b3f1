import fc from 'fast-check';
import addressparser from 'nodemailer/lib/addressparser';
import { describe, expect, it } from 'vitest';
import { emptyEmployee } from '../../connectors/types.js';
import { isValidEmail, normalizeEmail, parseEmailAddress } from '../../src/domain/email-address.js';
import { compileMapping, isRejection, toSyncRecord } from '../../src/domain/employee-record.js';
import { isMailSendError } from '../../src/mail/mail-send-error.js';
import { normalizeAddress } from '../../src/mail/mime.js';

const mapping = compileMapping();
const imported = (email: string) => toSyncRecord({ ...emptyEmployee('7'), email, firstName: 'A', lastName: 'B' }, mapping);

/** What the mailer does with an address the store holds: its validator, then nodemailer's own parser. */
function mailerTakes(address: string): boolean {
  let normalized: string;
  try {
    normalized = normalizeAddress(address);
  } catch {
    return false;
  }
  const parsed = addressparser(normalized, { flatten: true }) as Array<{ address?: string }>;
  return parsed.length === 1 && parsed[0]!.address === normalized;
}

describe('one address rule for import and mailer', () => {
  it('every address the import accepts, the mailer accepts (and nodemailer parses back to the same address)', () => {
    // addresses made to be valid, and strings made of the characters that break addresses
    const nasty = fc.stringMatching(/^[a-zA-Z0-9.+_'"@\- ()<>,;:\\[\]äöüß]{1,40}$/);
    const idn = fc.tuple(fc.stringMatching(/^[a-z0-9._+-]{1,20}$/), fc.constantFrom('bücher.example', 'müller.de', 'ドメイン.テスト', 'xn--mller-kva.de', 'a-b.c-d.example')).map(([l, d]) => `${l}@${d}`);
    fc.assert(
      fc.property(fc.oneof(fc.emailAddress(), nasty, idn), (email) => {
        const r = imported(email);
        if (isRejection(r)) {
          expect(['invalid_email', 'no_email']).toContain(r.reason);
          return;
        }
        expect(mailerTakes(r.email)).toBe(true);
        expect(normalizeAddress(r.email)).toBe(r.email); // the store holds the mailer's form already
      }),
      { numRuns: 3_000 },
    );
  });

  it.each(['.smith@x.example', '.smithjones.21@acme.example', 'a..b@x.example', 'a.@x.example', 'a@localhost', 'a@x', 'a@-x.example', 'a@x.123', 'a b@x.example', '"john doe"@x.example', 'zoë@x.example', 'a@[192.0.2.1]', `${'a'.repeat(65)}@x.example`, `a@${'b'.repeat(64)}.example`, 'a@x..example', 'a@x.example.'])(
    'rejects %s at import with invalid_email, and the mailer refuses it too',
    (email) => {
      const r = imported(email);
      expect(isRejection(r) && r.reason).toBe('invalid_email');
      let caught: unknown;
      try { normalizeAddress(email); } catch (err) { caught = err; }
      expect(isMailSendError(caught) && caught.permanent).toBe(true);
    },
  );

  it('keeps good shapes, IDN domains in punycode', () => {
    for (const ok of ["o'brien+hr@acme.example", 'a.b.c@sub.acme.example', 'x_y-z@a-b.example', 'A@ACME.EXAMPLE']) expect(isValidEmail(ok), ok).toBe(true);
    expect(normalizeEmail('ana@Bücher.Example')).toBe('ana@xn--bcher-kva.example');
    expect(normalizeEmail('Ana@Acme.Example')).toBe('Ana@Acme.Example');
    const r = imported('ana@bücher.example');
    expect(!isRejection(r) && r.email).toBe('ana@xn--bcher-kva.example');
    expect(parseEmailAddress('.smith@x.example')).toEqual({ ok: false, problem: 'local_part' });
    expect(parseEmailAddress('a@localhost')).toEqual({ ok: false, problem: 'domain' });
  });
});
