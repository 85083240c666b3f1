import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it, vi } from 'vitest';

// pass-through spy on the real MJML compiler: counts renders without changing them
vi.mock('mjml', async (importOriginal) => {
  const real = (await importOriginal<{ default: (...a: unknown[]) => unknown }>()).default;
  return { default: vi.fn((...args: unknown[]) => real(...args)) };
});
const mjml = (await import('mjml')).default as unknown as ReturnType<typeof vi.fn>;
const {
  compileInvitationTemplates,
  buildAcceptUrl,
  loadInvitationMjml,
  LOGIN_METHODS,
  MAX_INVITATION_MESSAGE_LENGTH,
} = await import('../../src/mail/invitation-template.js');
type Compiled = Awaited<ReturnType<typeof compileInvitationTemplates>>;
type Data = Parameters<Compiled['render']>[0];

const base: Data = {
  to: 'ana@acme.example',
  firstName: 'Ana',
  lastName: 'Ruiz',
  organizationName: 'Acme GmbH',
  loginMethod: 'password',
  message: null,
  acceptUrl: buildAcceptUrl('https://app.example', 'tok_123'),
  expiresAt: new Date('2026-03-04T15:30:00Z'),
};

let compiled: Compiled;
let mjmlCallsAfterCompile = 0;
beforeAll(async () => {
  mjml.mockClear();
  compiled = await compileInvitationTemplates({ appName: 'Workplace', from: 'Workplace <no-reply@workplace.example>' });
  mjmlCallsAfterCompile = mjml.mock.calls.length;
});

describe('compiling', () => {
  it('renders MJML once per login method, message and reminder variant, never per recipient', () => {
    expect(mjmlCallsAfterCompile).toBe(LOGIN_METHODS.length * 4);
    for (let i = 0; i < 300; i++) {
      const loginMethod = LOGIN_METHODS[i % 3]!;
      compiled.render({ ...base, loginMethod, firstName: `P${i}`, message: i % 2 ? `note ${i}` : null });
      compiled.build({ ...base, loginMethod, to: `p${i}@acme.example` });
    }
    expect(mjml.mock.calls.length).toBe(mjmlCallsAfterCompile);
  });

  it('uses an injected compiler the same way', async () => {
    let calls = 0;
    const real = (await vi.importActual<{ default: (s: string, o: object) => Promise<{ html: string }> }>('mjml')).default;
    const c = await compileInvitationTemplates({ compileMjml: (s, o) => { calls++; return real(s, o); } });
    c.render(base);
    c.render({ ...base, message: 'hi' });
    expect(calls).toBe(12);
  });

  it('a reminder: the reminder wording and subject, the same link; an invitation has neither', () => {
    const first = compiled.render({ ...base, message: 'hi' });
    const again = compiled.render({ ...base, message: 'hi', reminder: true });
    expect(again.subject).toBe(`Reminder: ${first.subject}`);
    for (const part of [again.text, again.html]) expect(part).toContain('your invitation is still waiting for you');
    for (const part of [first.text, first.html, first.subject]) expect(part).not.toMatch(/still waiting|Reminder/);
    const link = (t: string) => /https?:\/\/\S+token=\S+/.exec(t)?.[0];
    expect(link(again.text)).toBe(link(first.text));
    expect(again.html).toContain(`href="${base.acceptUrl}"`);
  });

  it('embeds templates/invitation.mjml as it is (after editing it, run this file with -u)', async () => {
    const source = readFileSync(new URL('../../src/mail/templates/invitation.mjml', import.meta.url), 'utf8');
    const literal = source.replace(/[\\`]/g, '\\$&').replace(/\$\{/g, '\\${');
    const generated =
      '// Generated from invitation.mjml by test/mail/invitation-template.test.ts: do not edit by hand.\n' +
      '// After editing invitation.mjml run: npx vitest run test/mail/invitation-template.test.ts -u\n' +
      '// (embedded because tsc does not copy .mjml files into dist/)\n' +
      `export const INVITATION_MJML = \`${literal}\`;\n`;
    await expect(generated).toMatchFileSnapshot('../../src/mail/templates/invitation-mjml.ts');
    expect(loadInvitationMjml()).toContain('<mjml lang="en">'); // the module as loaded (before any -u)
  });

  it('leaves no placeholder or slot in the output', () => {
    for (const loginMethod of LOGIN_METHODS) {
      for (const message of [null, 'hello']) {
        const r = compiled.render({ ...base, loginMethod, message });
        for (const s of [r.subject, r.html, r.text]) {
          expect(s).not.toMatch(/\{\{|\}\}|\[\[|\]\]/);
        }
      }
    }
  });
});

describe('wording per login method', () => {
  it.each([
    ['password', /set your password/i, 'Set your password'],
    ['sso', /sign in with your company account/i, 'Sign in with your company account'],
    ['magic_link', /we will e-mail you a sign-in link/i, 'Accept the invitation'],
  ] as const)('%s: says how to get in, in html, text and subject', (loginMethod, phrase, button) => {
    const r = compiled.render({ ...base, loginMethod });
    expect(r.html).toMatch(phrase);
    expect(r.text).toMatch(phrase);
    expect(r.html).toMatch(new RegExp(`>\\s*${button}\\s*</a>`));
    expect(r.text).toContain(`${button}:\n${base.acceptUrl}`);
    expect(r.subject).toContain('Acme GmbH');
    expect(r.subject).toContain('Workplace');
  });

  it('gives each login method its own subject', () => {
    const subjects = LOGIN_METHODS.map((loginMethod) => compiled.render({ ...base, loginMethod }).subject);
    expect(new Set(subjects).size).toBe(3);
    expect(subjects[0]).toBe('Acme GmbH invited you to Workplace - set your password');
    expect(subjects[1]).toBe('Acme GmbH invited you to Workplace - sign in with your company account');
    expect(subjects[2]).toBe('Acme GmbH invited you to Workplace - no password needed');
  });

  it('does not mention another method', () => {
    expect(compiled.render({ ...base, loginMethod: 'sso' }).text).not.toMatch(/set your password|sign-in link/i);
    expect(compiled.render({ ...base, loginMethod: 'magic_link' }).text).not.toMatch(/set your password|company account/i);
    expect(compiled.render({ ...base, loginMethod: 'password' }).text).not.toMatch(/company account|sign-in link/i);
  });
});

describe('recipient data', () => {
  it('greets by first name, or without a name', () => {
    expect(compiled.render(base).text.startsWith('Hi Ana,\n')).toBe(true);
    expect(compiled.render(base).html).toContain('Hi Ana,');
    expect(compiled.render({ ...base, firstName: null }).text.startsWith('Hello,\n')).toBe(true);
    expect(compiled.render({ ...base, firstName: '   ' }).text.startsWith('Hello,\n')).toBe(true);
  });

  it('shows the accept link (as the button and as text) and the expiry date', () => {
    const r = compiled.render(base);
    expect(r.html).toContain(`href="${base.acceptUrl}"`);
    expect(r.html.split(`href="${base.acceptUrl}"`).length - 1).toBe(2);
    expect(r.html).toContain('4 March 2026 at 15:30 UTC');
    expect(r.text).toContain('This invitation expires on 4 March 2026 at 15:30 UTC.');
  });

  it('formats the expiry in the configured time zone', async () => {
    const c = await compileInvitationTemplates({ timeZone: 'Europe/Berlin' });
    expect(c.render(base).text).toContain('4 March 2026 at 16:30 CET');
  });

  it('builds the accept URL with an encoded token', () => {
    expect(buildAcceptUrl('https://app.example/', 'a+b/c=')).toBe('https://app.example/invite/accept?token=a%2Bb%2Fc%3D');
  });
});

describe('escaping', () => {
  const evil = '<script>alert("x")</script>';

  it('escapes names, organization name and message in the html', () => {
    const r = compiled.render({
      ...base,
      firstName: `Ana ${evil} O'Neil`,
      organizationName: `Acme & "Sons" ${evil}`,
      message: `Welcome ${evil}\n<img src=x onerror=alert(1)>`,
    });
    expect(r.html).not.toContain('<script>');
    expect(r.html).not.toContain('<img src=x');
    expect(r.html).toContain('Ana &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#39;Neil');
    expect(r.html).toContain('Acme &amp; &quot;Sons&quot; &lt;script&gt;');
    expect(r.html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    // the plain-text part carries the words as written
    expect(r.text).toContain(`Hi Ana ${evil} O'Neil,`);
    expect(r.text).toContain(`> Welcome ${evil}`);
  });

  it('cannot break out of the href attribute', () => {
    const acceptUrl = 'https://app.example/invite/accept?token=a"onmouseover="alert(1)&x=<b>';
    const r = compiled.render({ ...base, acceptUrl });
    expect(r.html).toContain('href="https://app.example/invite/accept?token=a&quot;onmouseover=&quot;alert(1)&amp;x=&lt;b&gt;"');
    expect(r.html).not.toContain('"onmouseover="');
  });

  it('refuses a non-http accept URL', () => {
    expect(() => compiled.render({ ...base, acceptUrl: 'javascript:alert(1)' })).toThrow(/accept URL/);
    expect(() => compiled.render({ ...base, acceptUrl: 'https://app.example/a b' })).toThrow(/accept URL/);
  });

  it('does not substitute placeholders written inside values', () => {
    const r = compiled.render({ ...base, firstName: '{{acceptUrl}}', message: '{{organizationName}} [[intro]]' });
    expect(r.text).toContain('Hi {{acceptUrl}},');
    expect(r.text).toContain('> {{organizationName}} [[intro]]');
  });

  it('keeps names on one line (no header or layout injection)', () => {
    const r = compiled.render({ ...base, firstName: 'Ana\r\nBcc: x@evil.example', organizationName: 'Acme\nGmbH' });
    expect(r.text.startsWith('Hi Ana Bcc: x@evil.example,\n')).toBe(true);
    expect(r.subject).toBe('Acme GmbH invited you to Workplace - set your password');
  });
});

describe('personal message', () => {
  it('is shown as a quote, newlines preserved', () => {
    const r = compiled.render({ ...base, message: 'Welcome aboard!\r\n\r\nSee you on Monday.\nLena' });
    expect(r.html).toContain('Welcome aboard!<br><br>See you on Monday.<br>Lena');
    expect(r.html).toContain('A message from your administrator:');
    expect(r.text).toContain('A message from your administrator:\n\n> Welcome aboard!\n>\n> See you on Monday.\n> Lena\n');
  });

  it('leaves the quote block out without a message', () => {
    for (const message of [null, '', '  \n ']) {
      const r = compiled.render({ ...base, message });
      expect(r.html).not.toContain('A message from your administrator');
      expect(r.text).not.toContain('A message from your administrator');
    }
  });

  it(`accepts ${MAX_INVITATION_MESSAGE_LENGTH} characters and refuses more`, () => {
    expect(() => compiled.render({ ...base, message: 'x'.repeat(MAX_INVITATION_MESSAGE_LENGTH) })).not.toThrow();
    expect(() => compiled.render({ ...base, message: 'x'.repeat(MAX_INVITATION_MESSAGE_LENGTH + 1) })).toThrow(
      expect.objectContaining({ name: 'AppError', code: 'validation_failed' }),
    );
  });
});
